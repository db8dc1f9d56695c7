"""The driver of scripts/bench-vs-msal: onboards a server, then times cold
processes of `entra-connect credential test` and of MSAL for Python's
acquire_token_for_client (tests/emulator/python/msal_client_credentials.py), alternating."""

import json
import os
import statistics
import subprocess
import sys
import time


def run(args, stdin=None, env=None):
    result = subprocess.run(args, input=stdin, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def timed(args, env):
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main():
    binary, sandbox_out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(sandbox_out, encoding="utf-8") as handle:
        sandbox = json.loads(handle.readline())
    admin = next(u for u in sandbox["users"] if u["upn"].startswith("hybrid.admin@"))
    connection = [
        "--tenant", sandbox["tenant_id"], "--authority-host", sandbox["authority_host"],
        "--graph-url", sandbox["graph_url"], "--ca-cert", sandbox["ca_cert"],
    ]
    sign_in = ["--upn", admin["upn"], "--sign-in", "password", "--password-stdin"]
    # The software store: MSAL is handed its key file (<hash>.key), which a
    # TPM would never let out (`--store auto` would pick a TPM that answers).
    run([binary, "app", "register", "--store", "software", *sign_in, *connection],
        stdin=admin["password"] + "\n")
    run([binary, "app", "link", *sign_in, *connection], stdin=admin["password"] + "\n")
    credential = json.loads(run([binary, "--json", "credential", "show"]))["application"]
    keys = os.path.join(os.environ["ENTRA_CONNECT_STATE_DIR"], "keys")
    ours = [binary, "credential", "test"]
    msal_env = dict(
        os.environ,
        SANDBOX_AUTHORITY=f"{sandbox['authority_host']}/{sandbox['tenant_id']}",
        SANDBOX_CLIENT_ID=credential["application_id"],
        SANDBOX_KEY_PEM=os.path.join(keys, credential["certificate_sha256"] + ".key"),
        SANDBOX_CERT_PEM=os.path.join(keys, credential["certificate_sha256"] + ".crt"),
        SANDBOX_SCOPE="6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default",
        REQUESTS_CA_BUNDLE=sandbox["ca_cert"],
    )
    msal = [sys.executable, os.path.join("tests", "emulator", "python", "msal_client_credentials.py")]
    # Both must work before they are timed.
    run(ours)
    run(msal, env=msal_env)
    times = {"entra-connect": [], "msal": []}
    for _ in range(runs):
        times["entra-connect"].append(timed(ours, os.environ))
        times["msal"].append(timed(msal, msal_env))
    ours_median = statistics.median(times["entra-connect"])
    msal_median = statistics.median(times["msal"])
    ratios = [m / o for o, m in zip(times["entra-connect"], times["msal"])]
    print(f"credential test (cold): median {ours_median * 1000:.1f} ms over {runs} runs")
    print(f"MSAL Python acquire_token_for_client (cold): median {msal_median * 1000:.1f} ms over {runs} runs")
    print(f"ratio of medians: {msal_median / ours_median:.1f}x; median of paired ratios: {statistics.median(ratios):.1f}x")


if __name__ == "__main__":
    main()
