"""Each TLS site of the role meets Mozilla's intermediate profile, as sslyze checks it.

sslyze reports its compliance check only as text: the lines under "COMPLIANCE
AGAINST TLS CONFIGURATION" that start with "* " are the issues. The only one
allowed is the certificate path: the scenario's certificate is self-signed.
"""

import subprocess


def compliance_issues(report, address):
    section = report.partition("COMPLIANCE AGAINST TLS CONFIGURATION")[2]
    assert "Mozilla's \"intermediate\" configuration" in section, report
    assert address in section, report
    return [line.strip()[2:] for line in section.splitlines() if line.strip().startswith("* ")]


def test_mozilla_intermediate_apart_from_trust_in_the_self_signed_certificate(clients_python, tls_port):
    address = "127.0.0.1:%d" % tls_port
    done = subprocess.run([clients_python, "-m", "sslyze", "--mozilla_config=intermediate", address],
                          capture_output=True, text=True, timeout=300, check=False)
    report = done.stdout + done.stderr
    issues = compliance_issues(report, address)
    assert [issue for issue in issues if not issue.startswith("certificate_path_validation:")] == [], report
    assert "Supported curves:                  X25519, secp256r1, secp384r1" in report
