"""Sign in with the device code flow against the sandbox tenant with MSAL for
Python, then take the token again from MSAL's cache and renew it with the
refresh token the sign-in earned.

Settings: SANDBOX_AUTHORITY, SANDBOX_CLIENT_ID (a public client),
SANDBOX_SCOPES (space-separated) and REQUESTS_CA_BUNDLE (the sandbox's CA).
The sandbox approves the code by itself.
"""

import time

from sandbox_env import public_client, report, setting, silently_again


def main() -> None:
    app = public_client()
    scopes = setting("SANDBOX_SCOPES").split()
    flow = app.initiate_device_flow(scopes=scopes)
    if "user_code" not in flow:
        report({"error": flow.get("error"), "error_description": flow.get("error_description")}, False)
    # MSAL polls at the interval the server gives, until approval or expiry.
    flow["expires_at"] = min(flow.get("expires_at", 0), time.time() + 60)
    signed_in = app.acquire_token_by_device_flow(flow)
    report(silently_again(app, scopes, signed_in), "access_token" in signed_in)


if __name__ == "__main__":
    main()
