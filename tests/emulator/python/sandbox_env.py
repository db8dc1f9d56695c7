"""What the scripts that drive Microsoft's client libraries against the
sandbox share: its settings from the environment, a token's claims, and the
one JSON line each script prints for tests/emulator/microsoft_clients.rs.
The scripts never print a token or a secret itself."""

import base64
import json
import os
import sys

import msal


def setting(name: str) -> str:
    return os.environ[name]


def claims(token: str) -> dict:
    """The payload of a JWT, unverified: the Rust test checks what matters."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def report(result: dict, succeeded: bool) -> None:
    print(json.dumps(result, default=str))
    sys.exit(0 if succeeded else 1)


def public_client() -> msal.PublicClientApplication:
    """MSAL's public client for SANDBOX_CLIENT_ID at SANDBOX_AUTHORITY, trusting the sandbox's CA."""
    return msal.PublicClientApplication(
        setting("SANDBOX_CLIENT_ID"),
        authority=setting("SANDBOX_AUTHORITY"),
        instance_discovery=False,
        verify=setting("REQUESTS_CA_BUNDLE"),
    )


def skip_msal_user_realm_probe() -> None:
    # Before a password grant MSAL asks https://<host>/common/userrealm/<user>,
    # building that address from the authority's host name without its port.
    # The sandbox answers the probe, but on a port of its own, which the probe
    # drops; this tells MSAL that loopback has no realm to probe, the narrowest
    # setting there is (the tenant's domain is managed, so the answer would
    # change nothing).
    msal.authority.Authority._domains_without_user_realm_discovery.add("127.0.0.1")


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
