"""Get a token from the sandbox tenant with one of azure-identity's
credentials, named by the first argument: `certificate`
(CertificateCredential), `assertion` (ClientAssertionCredential, with an
assertion this script signs), `password` (UsernamePasswordCredential) or
`device-code` (DeviceCodeCredential; the sandbox approves the code). The
user credentials also build their AuthenticationRecord, which needs the
ID token and client_info the sandbox returns, and then take the token again
from their cache.

Settings: SANDBOX_HOST (https://127.0.0.1:PORT), SANDBOX_TENANT_ID,
SANDBOX_CLIENT_ID, SANDBOX_SCOPE, REQUESTS_CA_BUNDLE; with `certificate` and
`assertion`, SANDBOX_KEY_PEM and SANDBOX_CERT_PEM (files); with `password`,
SANDBOX_USERNAME and SANDBOX_PASSWORD.
"""

import base64
import sys
import time
import uuid

import azure.identity
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sandbox_env import claims, report, setting, skip_msal_user_realm_probe


def read(name: str) -> str:
    with open(setting(name), encoding="ascii") as handle:
        return handle.read()


def signed_assertion() -> str:
    """A client assertion as certificate-credentials describes it, signed
    with the application's key and naming its certificate by x5t."""
    certificate = x509.load_pem_x509_certificate(read("SANDBOX_CERT_PEM").encode())
    thumbprint = certificate.fingerprint(hashes.SHA1())
    now = int(time.time())
    return jwt.encode(
        {
            "aud": f"{setting('SANDBOX_HOST')}/{setting('SANDBOX_TENANT_ID')}/oauth2/v2.0/token",
            "iss": setting("SANDBOX_CLIENT_ID"),
            "sub": setting("SANDBOX_CLIENT_ID"),
            "jti": str(uuid.uuid4()),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        },
        read("SANDBOX_KEY_PEM"),
        algorithm="RS256",
        headers={"x5t": base64.urlsafe_b64encode(thumbprint).decode().rstrip("=")},
    )


def credential(kind: str):
    common = {
        "authority": setting("SANDBOX_HOST"),
        "disable_instance_discovery": True,
    }
    tenant, client = setting("SANDBOX_TENANT_ID"), setting("SANDBOX_CLIENT_ID")
    if kind == "certificate":
        pem = (read("SANDBOX_KEY_PEM") + read("SANDBOX_CERT_PEM")).encode()
        return azure.identity.CertificateCredential(tenant, client, certificate_data=pem, **common)
    if kind == "assertion":
        return azure.identity.ClientAssertionCredential(tenant, client, signed_assertion, **common)
    if kind == "password":
        skip_msal_user_realm_probe()
        return azure.identity.UsernamePasswordCredential(
            client, setting("SANDBOX_USERNAME"), setting("SANDBOX_PASSWORD"), tenant_id=tenant, **common
        )
    if kind == "device-code":
        return azure.identity.DeviceCodeCredential(
            client,
            tenant_id=tenant,
            timeout=60,
            prompt_callback=lambda uri, code, expires: print(f"device code {code} at {uri}", file=sys.stderr),
            **common,
        )
    raise SystemExit(f"unknown credential {kind}")


def main() -> None:
    kind = sys.argv[1]
    scope = setting("SANDBOX_SCOPE")
    chosen = credential(kind)
    result = {}
    if kind in ("password", "device-code"):
        record = chosen.authenticate(scopes=[scope])
        result["record"] = {
            "authority": record.authority,
            "client_id": record.client_id,
            "home_account_id": record.home_account_id,
            "tenant_id": record.tenant_id,
            "username": record.username,
        }
    first = chosen.get_token(scope)
    again = chosen.get_token(scope)
    result["claims"] = claims(first.token)
    # From the credential's cache: the same token, not a new one.
    result["cached"] = again.token == first.token
    report(result, True)


if __name__ == "__main__":
    main()
