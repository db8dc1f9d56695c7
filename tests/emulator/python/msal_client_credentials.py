"""Acquire a client-credentials token from the sandbox tenant with MSAL for Python.

Driven by tests/emulator/microsoft_clients.rs through environment variables: SANDBOX_AUTHORITY,
SANDBOX_CLIENT_ID, SANDBOX_KEY_PEM and SANDBOX_CERT_PEM (file paths),
SANDBOX_SCOPE, and REQUESTS_CA_BUNDLE (the sandbox's CA). Prints one JSON line
without the token itself; exits 0 only when a token came back.
"""

import json
import os
import sys

import msal


def main() -> int:
    with open(os.environ["SANDBOX_KEY_PEM"], encoding="ascii") as handle:
        private_key = handle.read()
    with open(os.environ["SANDBOX_CERT_PEM"], encoding="ascii") as handle:
        certificate = handle.read()
    app = msal.ConfidentialClientApplication(
        os.environ["SANDBOX_CLIENT_ID"],
        authority=os.environ["SANDBOX_AUTHORITY"],
        # With the certificate itself, MSAL signs PS256 and names it by x5t#S256.
        client_credential={"private_key": private_key, "public_certificate": certificate},
        instance_discovery=False,
        verify=os.environ["REQUESTS_CA_BUNDLE"],
    )
    result = app.acquire_token_for_client(scopes=[os.environ["SANDBOX_SCOPE"]])
    token = result.get("access_token")
    print(json.dumps({
        "token_type": result.get("token_type"),
        "expires_in": result.get("expires_in"),
        "access_token_length": len(token) if token else 0,
        "access_token_payload": token.split(".")[1] if token else None,
        "error": result.get("error"),
        "error_description": result.get("error_description"),
    }))
    return 0 if token else 1


if __name__ == "__main__":
    sys.exit(main())
