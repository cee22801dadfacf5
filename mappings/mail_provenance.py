"""Mail provenance, pure: who a message is from as far as a rule may believe it, and the verdict of the server
that received it.

A sign-off or photo from mail counts only when its sender is entitled (the job's customer or one of its contacts,
a technician on the job, or the company's staff as the mailbox lists them) and the message passes the receiving
server's SPF/DKIM/DMARC verdict under the mailbox's policy. The verdict is read from ``Authentication-Results``
(RFC 8601) headers, and only from those whose authserv-id the mailbox trusts: anyone can write the header into
a message they send, so one from any other server is ignored, as the RFC says. A mailbox that trusts no server
still honours the topmost header's ``fail``: a forged fail gains a sender nothing, a believed one loses a forgery.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import authres

from mappings.mail_match import sender_role
from mappings.mail_parse import ParsedMessage
from workorders.work_order import EvidenceStanding, Provenance, WorkOrder

AuthPolicy = Literal["require_pass", "reject_fail", "ignore"]
AUTH_POLICIES: tuple[str, ...] = ("require_pass", "reject_fail", "ignore")
MAX_RESULTS_CHARS = 8_000
"""A trusted server's header is a few hundred characters; the parser's cost grows faster than its input, so a
longer one (which no receiving server writes) is no verdict rather than seconds of parsing."""
_AUTHSERV = re.compile(r"\s*(?:\([^()]*\)\s*)*([^\s;()]+)")
_STAFF = re.compile(r"^[^\s@]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


def staff_entry(entry: str) -> str:
    """A staff address (``dana@acme.example``) or domain (``@acme.example``, ``acme.example``) in its one form,
    lower case, a domain with its ``@``; ValueError for anything else."""
    text = entry.strip().lower()
    if "@" not in text:
        text = "@" + text
    if not _STAFF.match(text):
        raise ValueError(f"{entry!r} is neither an address (name@domain) nor a domain (@domain)")
    return text


@dataclass(frozen=True)
class ProvenancePolicy:
    """A mailbox's rules for believing a sender (``MailboxConfig.provenance_policy`` builds it from the config)."""

    auth_results: str = "reject_fail"
    trusted_authserv_ids: tuple[str, ...] = ()
    staff_addresses: tuple[str, ...] = ()

    def is_staff(self, address: str) -> bool:
        """The address is listed, or its domain is (exactly: ``@acme.example`` is not ``@van.acme.example``)."""
        if not address or "@" not in address:
            return False
        domain = "@" + address.rpartition("@")[2]
        return address in self.staff_addresses or domain in self.staff_addresses

    def strictest(self, other: "ProvenancePolicy") -> "ProvenancePolicy":
        """Both policies at once: every trusted server and staff entry of either, the stricter verdict policy."""
        order = {name: n for n, name in enumerate(("ignore", "reject_fail", "require_pass"))}
        policy = max(self.auth_results, other.auth_results, key=order.__getitem__)
        return ProvenancePolicy(policy, tuple(dict.fromkeys(self.trusted_authserv_ids + other.trusted_authserv_ids)),
                                tuple(dict.fromkeys(self.staff_addresses + other.staff_addresses)))


@dataclass(frozen=True)
class AuthVerdict:
    """What the trusted receiving server said: ``pass``, ``fail`` or ``none`` (it said nothing we can use)."""

    verdict: str = "none"
    authserv_id: str = ""
    detail: str = ""  # "spf=fail dkim=none dmarc=fail", in that order, as the server gave them


def read_verdict(values: Sequence[str], *, trusted: Sequence[str], from_domain: str) -> AuthVerdict:
    """The verdict of the topmost ``Authentication-Results`` header whose authserv-id is trusted.

    Topmost, because a receiving server adds its header above those already in the message: a pass written
    lower down by the sender is never read when the server said otherwise. With DMARC, its result decides.
    Without, an SPF or DKIM pass counts only aligned with the From domain (the same domain or one of its
    subdomains, relaxed alignment), and an SPF fail with no DKIM pass fails. A header that cannot be read is
    no verdict; it never raises.
    """
    wanted = {t.lower() for t in trusted}
    if not wanted:
        return _untrusted_fail(values, from_domain.lower())
    for value in values:
        found = _AUTHSERV.match(value)
        if found is None or found.group(1).lower() not in wanted:
            continue
        return _header_verdict(value, found.group(1).lower(), from_domain.lower())
    return AuthVerdict()


def _header_verdict(value: str, authserv_id: str, from_domain: str) -> AuthVerdict:
    """One header's verdict; too long or unreadable is no verdict (saying why), never an error."""
    if len(value) > MAX_RESULTS_CHARS:
        return AuthVerdict("none", authserv_id, "the header is too long to be a server's verdict")
    try:
        header = authres.AuthenticationResultsHeader.parse_value(value)
        results = [(str(r.method).lower(), str(r.result).lower(), _properties(r)) for r in header.results]
    except Exception:  # noqa: BLE001 - a broken header (SyntaxError, RecursionError...) is no verdict
        return AuthVerdict("none", authserv_id, "the header could not be read")
    return _judge(results, authserv_id, from_domain)


def _untrusted_fail(values: Sequence[str], from_domain: str) -> AuthVerdict:
    """With no server trusted, the topmost header's ``fail`` still counts, and nothing else does.

    Anybody can write the header, so a pass from an unknown server proves nothing; but a fail only withholds
    evidence (kept and shown, a person may still confirm it), so a sender gains nothing by forging one, while
    believing a From the receiving server itself failed would let a forged sign-off through (issue 19).
    """
    found = _AUTHSERV.match(values[0]) if values else None
    if found is None:
        return AuthVerdict()
    verdict = _header_verdict(values[0], found.group(1).lower(), from_domain)
    return verdict if verdict.verdict == "fail" else AuthVerdict()


def _properties(result) -> dict[str, str]:
    return {f"{p.type}.{p.name}".lower(): str(p.value).lower() for p in result.properties}


def _judge(results: list[tuple[str, str, dict[str, str]]], authserv_id: str, from_domain: str) -> AuthVerdict:
    first = {}
    for method, result, props in results:
        first.setdefault(method, (result, props))
    detail = " ".join(f"{m}={first[m][0]}" for m in ("spf", "dkim", "dmarc") if m in first)
    if "dmarc" in first:
        result = first["dmarc"][0]
        verdict = result if result in ("pass", "fail") else "none"
        return AuthVerdict(verdict, authserv_id, detail)
    dkim_pass = [props for method, result, props in results if method == "dkim" and result == "pass"]
    spf = first.get("spf")
    if any(_aligned(props.get("header.d", ""), from_domain) for props in dkim_pass):
        return AuthVerdict("pass", authserv_id, detail)
    if spf and spf[0] == "pass" and _aligned(_domain(spf[1].get("smtp.mailfrom", "")), from_domain):
        return AuthVerdict("pass", authserv_id, detail)
    if spf and spf[0] == "fail" and not dkim_pass:
        return AuthVerdict("fail", authserv_id, detail)
    return AuthVerdict("none", authserv_id, detail)


def _domain(value: str) -> str:
    return value.rpartition("@")[2]


def _aligned(domain: str, from_domain: str) -> bool:
    return bool(domain and from_domain) and (domain == from_domain or domain.endswith("." + from_domain)
                                             or from_domain.endswith("." + domain))


@dataclass(frozen=True)
class SenderStanding:
    """The sender of one message as the rules may believe it, for one work order."""

    sender: str
    role: str  # customer | technician | staff | ""
    auth: AuthVerdict
    checked: bool  # False under auth_results = "ignore"
    standing: EvidenceStanding  # counts, sender_not_entitled, authentication_failed or authentication_missing
    policy: str

    @property
    def entitled(self) -> bool:
        return self.standing is EvidenceStanding.counts

    def provenance(self, reference: str, what: str, *, standing: EvidenceStanding | None = None,
                   why: str = "") -> Provenance:
        """The provenance of one piece of evidence (``what``: "sign-off", "photo") this sender brought."""
        chosen = standing or self.standing
        return Provenance(reference=reference, sender=self.sender, sender_role=self.role,
                          authentication=self.auth.verdict if self.checked else "not_checked", standing=chosen,
                          why=why or self.why(what, chosen))

    def why(self, what: str, standing: EvidenceStanding) -> str:
        sender = self.sender or "an unknown sender"
        if standing is EvidenceStanding.authentication_failed:
            return f"{what} from {sender} failed authentication: {self.auth.authserv_id} says {self.auth.detail}"
        if standing is EvidenceStanding.authentication_missing:
            return (f"{what} from {sender} has no passing SPF, DKIM or DMARC verdict from a trusted server "
                    f"(auth_results = {self.policy})")
        if standing is EvidenceStanding.sender_not_entitled:
            return f"{what} from {sender} is not from the customer or staff"
        return ""


def judge_sender(message: ParsedMessage, order: WorkOrder, policy: ProvenancePolicy) -> SenderStanding:
    """Whether evidence from this message's sender may count on ``order``: authentication first (a failed
    verdict means the From itself is not to be believed), then who the sender is to the job."""
    address = message.from_address
    role = sender_role(message, order) or ("staff" if policy.is_staff(address) else "")
    checked = policy.auth_results != "ignore"
    auth = (read_verdict(message.authentication_results, trusted=policy.trusted_authserv_ids,
                         from_domain=_domain(address)) if checked else AuthVerdict())
    if checked and auth.verdict == "fail":
        standing = EvidenceStanding.authentication_failed
    elif policy.auth_results == "require_pass" and auth.verdict != "pass":
        standing = EvidenceStanding.authentication_missing
    elif not role:
        standing = EvidenceStanding.sender_not_entitled
    else:
        standing = EvidenceStanding.counts
    return SenderStanding(address, role, auth, checked, standing, policy.auth_results)
