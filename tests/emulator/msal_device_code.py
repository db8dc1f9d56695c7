"""Sign in with the device code flow against the sandbox tenant with MSAL for Python.

Driven by tests/emulator/msal.rs through environment variables: SANDBOX_AUTHORITY,
SANDBOX_CLIENT_ID (a public client), SANDBOX_SCOPES (space-separated) and
REQUESTS_CA_BUNDLE (the sandbox's CA). The sandbox approves the code by itself.
Prints one JSON line without the token itself; exits 0 only when a token came back.
"""

import json
import os
import sys

import msal


def main() -> int:
    app = msal.PublicClientApplication(
        os.environ["SANDBOX_CLIENT_ID"],
        authority=os.environ["SANDBOX_AUTHORITY"],
        instance_discovery=False,
        verify=os.environ["REQUESTS_CA_BUNDLE"],
    )
    flow = app.initiate_device_flow(scopes=os.environ["SANDBOX_SCOPES"].split())
    if "user_code" not in flow:
        print(json.dumps({"error": flow.get("error"), "error_description": flow.get("error_description")}))
        return 1
    # MSAL polls at the interval the server gives, until approval or expiry.
    flow["expires_at"] = min(flow.get("expires_at", 0), __import__("time").time() + 60)
    result = app.acquire_token_by_device_flow(flow)
    token = result.get("access_token")
    print(json.dumps({
        "token_type": result.get("token_type"),
        "access_token_payload": token.split(".")[1] if token else None,
        "error": result.get("error"),
        "error_description": result.get("error_description"),
    }))
    return 0 if token else 1


if __name__ == "__main__":
    sys.exit(main())
