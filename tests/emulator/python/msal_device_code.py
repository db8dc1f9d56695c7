"""Sign in with the device code flow against the sandbox tenant with MSAL for
Python, then take the token again from MSAL's cache and renew it with the
refresh token the sign-in earned.

Settings: SANDBOX_AUTHORITY, SANDBOX_CLIENT_ID (a public client),
SANDBOX_SCOPES (space-separated) and REQUESTS_CA_BUNDLE (the sandbox's CA).
The sandbox approves the code by itself.
"""

import time

import msal

from sandbox_env import claims, public_client, report, setting


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


def silently_again(app: msal.ClientApplication, scopes: list, signed_in: dict) -> dict:
    """What a sign-in gave, and what MSAL's cache and refresh token give after it."""
    result = {
        "error": signed_in.get("error"),
        "error_description": signed_in.get("error_description"),
    }
    if "access_token" not in signed_in:
        return result
    accounts = app.get_accounts()
    result["claims"] = claims(signed_in["access_token"])
    result["id_token_claims"] = signed_in.get("id_token_claims")
    result["accounts"] = [account["username"] for account in accounts]
    if accounts:
        cached = app.acquire_token_silent(scopes, account=accounts[0]) or {}
        result["cached_source"] = cached.get("token_source")
        renewed = app.acquire_token_silent(scopes, account=accounts[0], force_refresh=True) or {}
        result["renewed_source"] = renewed.get("token_source")
        result["renewed_error"] = renewed.get("error_description")
        if "access_token" in renewed:
            result["renewed_claims"] = claims(renewed["access_token"])
    return result


if __name__ == "__main__":
    main()
