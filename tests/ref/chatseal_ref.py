#!/usr/bin/env python3
"""chatseal_ref.py -- an independent reimplementation of docs/FORMAT.md.

Written from the specification alone, with Python's standard library only
(json, hmac, hashlib, base64), so that a disagreement with libchatseal points
at a bug in one of the two or at an ambiguity in the document.  It covers
everything that does not need AES (the standard library has none; sealed
tokens are checked from Node in sealed.mjs):

  * RFC 8785 canonical JSON from strict input (FORMAT.md section 1), with
    ECMAScript number formatting built on repr(): Python prints the shortest
    digit string that round-trips, which is what ES6 asks for; only the
    layout (plain, fraction, exponent) differs and is done here by the ES6
    rules;
  * the signed form of a message (section 2.1), message digests, chain
    digest, role codes (section 2), reasoning tags (section 2.2);
  * key ring text (section 3);
  * headers, binding check, locators, tag and token assembly (section 4);
  * verification of a token's tag and header (section 5 steps 2-8), not the
    diagnosis of section 5.1: that is the library's business, and the C unit
    tests pin it.

Errors are RefError carrying the stable code name of the C library.  The
module is imported by the test drivers in this folder; run it directly for a
tiny command line (canon / sign / verify), handy when checking by hand.
"""

import base64
import hashlib
import hmac
import json
import math
import re
import sys

VERSION = 2          # what this module signs (conv, msg); state stays 1
VERSIONS = (1, 2)    # what it verifies
RSN_TAGBYTES = 16
PREFIX = "cs1."
TOKEN_MAX = 1 << 20
BINDING_MAX = 1024
MAX_DEPTH_DEFAULT = 64
KEYBYTES_MIN = 32
KEYBYTES_MAX = 128
LOCATORBYTES = 8
BINDBYTES = 16
TAGBYTES = 32
TAG_LENGTHS = (32, 48, 64)  # hs256, hs384, hs512 (FORMAT.md section 3)
KID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
HEADER_MEMBERS = {"v", "typ", "kid", "iat", "exp", "n", "pur", "bnd",
                  "roles", "loc", "ao", "rsn"}
REASONING = ("reasoning_content", "reasoning")
ASSISTANT_KEEPS = {"role", "content", "name", "tool_calls", "function_call",
                   "refusal", "audio"}
TYPES = ("conv", "msg", "state", "sealed")
ROLE_CODES = {"system": "s", "user": "u", "assistant": "a", "tool": "t",
              "developer": "d", "function": "f"}


class RefError(Exception):
    """A failure with one of the chatseal error code names."""

    def __init__(self, code, detail=""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


# ------------------------------------------------------------ base64url --

_B64U_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789-_")


def b64u(data):
    """base64url without padding (RFC 4648 section 5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text, code="malformed_token"):
    """Strict decoding: alphabet only, no padding, zero unused bits.

    The standard library is lenient, so the result is re-encoded and must
    give the same text back: that rejects non-zero trailing bits and
    impossible lengths in one check."""
    if not isinstance(text, str) or any(c not in _B64U_ALPHABET for c in text):
        raise RefError(code, "not base64url")
    if len(text) % 4 == 1:
        raise RefError(code, "impossible base64url length")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64u(data) != text:
        raise RefError(code, "non-canonical base64url")
    return data


# ------------------------------------------------------- strict parsing --

def _number(text):
    # Integers and fractions alike are read as the nearest double; float()
    # rounds correctly (round half to even) for any length of digits.
    value = float(text)
    if not math.isfinite(value):
        raise RefError("invalid_number", text[:40])
    return value


def _reject_constant(name):
    raise RefError("malformed_json", f"{name} is not JSON")


class _Object:
    """A JSON object after the duplicate check: an ordered list of pairs,
    kept as pairs because the canonical order is not Python's order."""

    __slots__ = ("pairs",)

    def __init__(self, pairs):
        names = set()
        for name, _ in pairs:
            if "\0" in name:  # FORMAT.md 1: a parser differential
                raise RefError("malformed_json", "U+0000 in a member name")
            if name in names:
                raise RefError("duplicate_key", name[:40])
            names.add(name)
        self.pairs = pairs

    def get(self, name, default=None):
        for key, value in self.pairs:
            if key == name:
                return value
        return default

    def keys(self):
        return [key for key, _ in self.pairs]


def _check_tree(value, depth, max_depth):
    """Depth limit and lone surrogates (json accepts both)."""
    if isinstance(value, (list, _Object)):
        if depth > max_depth:
            raise RefError("too_deep", f"deeper than {max_depth}")
        items = value if isinstance(value, list) else value.pairs
        for item in items:
            if isinstance(value, _Object):
                _check_string(item[0])
                _check_tree(item[1], depth + 1, max_depth)
            else:
                _check_tree(item, depth + 1, max_depth)
    elif isinstance(value, str):
        _check_string(value)


def _check_string(text):
    # Raw UTF-8 surrogates never get here (the UTF-8 decoder refuses them),
    # and json joins valid escaped pairs, so any surrogate left came from a
    # lone escape.
    for ch in text:
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise RefError("lone_surrogate", f"U+{ord(ch):04X}")


def parse(data, max_depth=0):
    """Strict JSON (FORMAT.md section 1) from bytes or str; returns plain
    Python values with objects as _Object and every number a float."""
    if max_depth == 0:
        max_depth = MAX_DEPTH_DEFAULT
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise RefError("invalid_utf8", str(exc)) from None
    else:
        text = data
    decoder = json.JSONDecoder(object_pairs_hook=_Object, parse_float=_number,
                               parse_int=_number,
                               parse_constant=_reject_constant, strict=True)
    try:
        value, end = decoder.raw_decode(text, _skip_ws(text, 0))
    except RecursionError:
        raise RefError("too_deep", "nesting") from None
    except json.JSONDecodeError as exc:
        if "Invalid control character" in exc.msg:
            raise RefError("control_character", exc.msg) from None
        raise RefError("malformed_json", exc.msg) from None
    if _skip_ws(text, end) != len(text):
        raise RefError("trailing_data", f"at offset {end}")
    _check_tree(value, 1, max_depth)
    return value


def _skip_ws(text, pos):
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos


# -------------------------------------------------------- RFC 8785 out --

def es6_number(x):
    """Number.prototype.toString for a finite double (ECMA-262 7.1.12.1)."""
    if not math.isfinite(x):
        raise RefError("invalid_number", repr(x))
    if x == 0:
        return "0"  # also -0
    if x < 0:
        return "-" + es6_number(-x)
    # repr gives the shortest digits that read back as x; recover them as
    # an integer string `digits` and a decimal exponent so that
    # x = 0.digits * 10**n (ES6's s, k and n).
    mantissa, _, exp = repr(x).partition("e")
    exponent = int(exp) if exp else 0
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    exponent -= len(frac)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = k + exponent
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    if k == 1:
        return f"{digits}e{sign}{abs(e)}"
    return f"{digits[0]}.{digits[1:]}e{sign}{abs(e)}"


_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
                  "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def _string(text):
    out = ['"']
    for ch in text:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_key(name):
    # Comparing UTF-16BE bytes compares code units, as RFC 8785 asks.
    return name.encode("utf-16-be", errors="surrogatepass")


def canon_text(value):
    """RFC 8785 text of a parsed value (or of plain dict/list/str/...)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return es6_number(float(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canon_text(v) for v in value) + "]"
    if isinstance(value, dict):
        value = _Object(list(value.items()))
    if isinstance(value, _Object):
        pairs = sorted(value.pairs, key=lambda p: _utf16_key(p[0]))
        return "{" + ",".join(_string(k) + ":" + canon_text(v)
                              for k, v in pairs) + "}"
    raise TypeError(f"not a JSON value: {type(value)!r}")


def canon(value):
    """RFC 8785 bytes (UTF-8) of a parsed value."""
    return canon_text(value).encode("utf-8")


def canonicalize(data, max_depth=0):
    """Strict JSON text in, canonical bytes out."""
    return canon(parse(data, max_depth))


# ------------------------------------------------- messages and chains --

def frame(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def sha256(data):
    return hashlib.sha256(data).digest()


class Key(bytes):
    """Key bytes with the hash of their ring entry (FORMAT.md section 3):
    the algorithm is the key's, never a token's."""

    def __new__(cls, data, alg="hs256"):
        obj = super().__new__(cls, data)
        obj.alg = alg
        obj.hash = ALGS[alg]
        return obj


# ring entry algorithm -> hash; the tag is the full HMAC output
ALGS = {"hs256": hashlib.sha256, "hs384": hashlib.sha384,
        "hs512": hashlib.sha512}


def hmac256(key, data):
    """HMAC of the key's algorithm (the name is historical: plain bytes
    are HMAC-SHA256 keys)."""
    return hmac.new(key, data, getattr(key, "hash", hashlib.sha256)).digest()


def tag_length(key):
    return getattr(key, "hash", hashlib.sha256)().digest_size


def role_code(role):
    return ROLE_CODES.get(role, "x")


def messages_of(value):
    """The message list of a parsed conversation (FORMAT.md section 2)."""
    if isinstance(value, _Object):
        value = value.get("messages")
        if not isinstance(value, list):
            raise RefError("invalid_request", "no messages array")
    elif not isinstance(value, list):
        raise RefError("invalid_request", "not an array or object")
    for msg in value:
        if not isinstance(msg, _Object) or not isinstance(msg.get("role"),
                                                          str):
            raise RefError("invalid_message", "not an object with a role")
    return value


def _says_nothing(value):
    """Rule 2 of FORMAT.md 2.1: null, "", [] and {}."""
    if value is None or value == "":
        return True
    if isinstance(value, list) and not value:
        return True
    return isinstance(value, _Object) and not value.pairs


def _canonical_arguments(text):
    """Rule 5: arguments that are strict JSON text, in canonical form."""
    try:
        return canonicalize(text.encode("utf-8")).decode("utf-8")
    except (RefError, UnicodeEncodeError):
        return text


def _compact(obj, level):
    """Rule 2 on one object, and the rules of its level (0 the message,
    1 a tool call, 2 a function object) on its members."""
    pairs = []
    for name, value in obj.pairs:
        if (_says_nothing(value) and not (level == 0 and name == "role")) \
                or (level == 1 and name == "index"):
            continue
        if level == 0 and name == "tool_calls" and isinstance(value, list):
            value = [_compact(c, 1) if isinstance(c, _Object) else c
                     for c in value]
        elif isinstance(value, _Object) and (
                (level == 0 and name == "function_call") or
                (level == 1 and name == "function")):
            value = _compact(value, 2)
        elif level == 2 and name == "arguments" and isinstance(value, str):
            value = _canonical_arguments(value)
        pairs.append((name, value))
    return _Object(pairs)


def signed_form(msg):
    """FORMAT.md 2.1 and 2.2: (signed form, form with its reasoning, the
    reasoning object or None), as objects."""
    full = _compact(msg, 0)
    if msg.get("role") == "assistant":
        full = _Object([(k, v) for k, v in full.pairs
                        if k in ASSISTANT_KEEPS or k in REASONING])
    core = _Object([(k, v) for k, v in full.pairs if k not in REASONING])
    rsn = [(k, v) for k, v in full.pairs if k in REASONING]
    return core, full, (_Object(rsn) if rsn else None)


def message_digest(msg, version=VERSION):
    """d_i: of the signed form (v2) or of the whole message (v1)."""
    if version == 1:
        return sha256(canon(msg))
    return sha256(canon(signed_form(msg)[0]))


def rsn_tag(key, digest, reasoning):
    return hmac256(key, frame("chatseal/v2/rsn") + frame(digest)
                   + frame(canon(reasoning)))[:RSN_TAGBYTES]


def chain_digest(digests):
    return sha256(b"".join(digests))


def locator(key, digest):
    return hmac256(key, frame("chatseal/v1/loc") + frame(digest))[:LOCATORBYTES]


def binding_check(key, cid, prn):
    return hmac256(key, frame("chatseal/v1/bind") + frame(cid)
                   + frame(prn))[:BINDBYTES]


# ----------------------------------------------------------------- keys --

def parse_keyring(text):
    """Key ring text -> list of (kid, key bytes); the last one signs."""
    ring = []
    for line in text.split("\n"):
        if line.strip(" \t").startswith("#"):
            continue
        for entry in line.split(","):
            entry = entry.strip(" \t")
            if not entry:
                continue
            kid, sep, key_text = entry.partition(":")
            if not sep or not KID_RE.match(kid):
                raise RefError("invalid_key", "bad entry")
            alg = "hs256"
            if ":" in key_text:
                alg, _, key_text = key_text.partition(":")
                if alg not in ALGS:
                    raise RefError("invalid_key", "unknown algorithm")
            key = Key(b64u_decode(key_text, "invalid_key"), alg)
            if len(key) < max(KEYBYTES_MIN, key.hash().digest_size):
                raise RefError("weak_key", kid)
            if len(key) > KEYBYTES_MAX:
                raise RefError("invalid_key", kid)
            if any(k == kid for k, _ in ring):
                raise RefError("duplicate_kid", kid)
            ring.append((kid, key))
    if not ring:
        raise RefError("no_key", "empty key ring")
    return ring


# --------------------------------------------------------------- tokens --

def _binding(value):
    if value is None:
        return b""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if len(data) > BINDING_MAX:
        raise RefError("invalid_argument", "binding too long")
    return data


def build_header(typ, kid, iat, ttl=0, n=None, pur=None, bnd=None,
                 roles=None, loc=None, ao=False, rsn=None, v=VERSION):
    """Canonical header bytes for the given members (FORMAT.md section 4)."""
    header = {"v": v, "typ": typ, "kid": kid, "iat": iat}
    if rsn:
        header["rsn"] = b64u(rsn)
    if ttl:
        header["exp"] = iat + ttl
    if n is not None:
        header["n"] = n
    if pur:
        header["pur"] = pur
    if bnd is not None:
        header["bnd"] = b64u(bnd)
    if roles is not None:
        header["roles"] = roles
    if loc is not None:
        header["loc"] = b64u(loc)
    if ao:
        header["ao"] = True
    return canon(header)


def compute_tag(key, typ, header, cid, prn, x):
    return hmac256(key, frame("chatseal/v1/" + typ) + frame(header)
                   + frame(cid) + frame(prn) + frame(x))


def assemble(header, payload):
    return PREFIX + b64u(header) + "." + b64u(payload)


def sign_messages(ring, messages, typ="conv", count=None, now=0, ttl=0,
                  cid=None, prn=None, pur=None, compact=False,
                  assistant_only=False):
    """A conv (or msg) token over the first `count` messages, with every
    intermediate value returned for comparison: a dict."""
    kid, key = ring[-1]
    if count is None:
        count = len(messages)
    cid_b, prn_b = _binding(cid), _binding(prn)
    msgs = messages[:count]
    canons = [canon(m) for m in msgs]
    forms = [signed_form(m) for m in msgs]
    digests = [sha256(canon(f[0])) for f in forms]
    rsn = b"".join(i.to_bytes(4, "big") + rsn_tag(key, digests[i], f[2])
                   for i, f in enumerate(forms) if f[2] is not None)
    chain = chain_digest(digests)
    roles = "".join(role_code(m.get("role")) for m in msgs)
    locs = [locator(key, d) for d, r in zip(digests, roles)
            if not assistant_only or r == "a"]
    bnd = binding_check(key, cid_b, prn_b) if (cid_b or prn_b) else None
    header = build_header(typ, kid, now, ttl, n=count, pur=pur, bnd=bnd,
                          roles=None if compact else roles,
                          loc=None if compact else b"".join(locs),
                          ao=assistant_only and not compact, rsn=rsn)
    tag = compute_tag(key, typ, header, cid_b, prn_b, chain)
    return {"canonical": canons, "forms": [canon(f[0]) for f in forms],
            "rsn": rsn, "digests": digests, "chain": chain,
            "roles": roles, "locators": [] if compact else locs, "bnd": bnd,
            "header": header, "tag": tag, "token": assemble(header, tag)}


def sign_state(ring, value, now=0, ttl=0, cid=None, prn=None, pur=None):
    kid, key = ring[-1]
    cid_b, prn_b = _binding(cid), _binding(prn)
    body = canon(value)
    bnd = binding_check(key, cid_b, prn_b) if (cid_b or prn_b) else None
    header = build_header("state", kid, now, ttl, pur=pur, bnd=bnd, v=1)
    digest = sha256(body)
    tag = compute_tag(key, "state", header, cid_b, prn_b, digest)
    return {"canonical": body, "digest": digest, "bnd": bnd,
            "header": header, "tag": tag, "token": assemble(header, tag)}


def _is_int(value):
    return isinstance(value, float) and value.is_integer()


def decode_token(token):
    """Step 2 of FORMAT.md section 5: (header dict, header bytes, payload)."""
    if not isinstance(token, str) or len(token) > TOKEN_MAX:
        raise RefError("malformed_token", "too long")
    if not token.startswith(PREFIX):
        raise RefError("malformed_token", "prefix")
    parts = token[len(PREFIX):].split(".")
    if len(parts) != 2:
        raise RefError("malformed_token", "segments")
    header_bytes = b64u_decode(parts[0])
    payload = b64u_decode(parts[1])
    try:
        obj = parse(header_bytes)
    except RefError:
        raise RefError("malformed_token", "header is not JSON") from None
    if not isinstance(obj, _Object) or canon(obj) != header_bytes:
        raise RefError("malformed_token", "header is not canonical")
    h = dict(obj.pairs)
    if set(h) - HEADER_MEMBERS:
        raise RefError("malformed_token", "unknown member")
    for name in ("v", "iat"):
        if not _is_int(h.get(name)):
            raise RefError("malformed_token", f"{name} is not an integer")
    if not isinstance(h.get("typ"), str) or not isinstance(h.get("kid"), str):
        raise RefError("malformed_token", "typ/kid")
    if not 0 <= h["iat"] < 2 ** 53:
        raise RefError("malformed_token", "iat")
    if "exp" in h and not (_is_int(h["exp"]) and h["exp"] > h["iat"]):
        raise RefError("malformed_token", "exp")
    if "pur" in h and not (isinstance(h["pur"], str) and
                           1 <= len(h["pur"].encode()) <= BINDING_MAX):
        raise RefError("malformed_token", "pur")
    if "bnd" in h and (not isinstance(h["bnd"], str) or
                       len(b64u_decode(h["bnd"])) != BINDBYTES):
        raise RefError("malformed_token", "bnd")
    if "ao" in h and h["ao"] is not True:
        raise RefError("malformed_token", "ao")
    if h["v"] not in VERSIONS:
        raise RefError("unsupported_version", str(h["v"]))
    typ = h["typ"]
    if typ not in TYPES:
        # a well-formed header of a type this version does not know: it is
        # not the type any verifier expects (step 3)
        raise RefError("wrong_token_type", typ[:40])
    if typ in ("conv", "msg"):
        if not _is_int(h.get("n")) or h["n"] < 0 or (typ == "msg"
                                                     and h["n"] != 1):
            raise RefError("malformed_token", "n")
        if ("roles" in h) != ("loc" in h):
            raise RefError("malformed_token", "roles without loc")
        if "roles" in h:
            roles = h["roles"]
            if (not isinstance(roles, str) or len(roles) != h["n"]
                    or any(c not in "suatdfx" for c in roles)):
                raise RefError("malformed_token", "roles")
            located = (roles.count("a") if h.get("ao") else len(roles))
            if (not isinstance(h["loc"], str) or
                    len(b64u_decode(h["loc"])) != located * LOCATORBYTES):
                raise RefError("malformed_token", "loc")
        elif "ao" in h:
            raise RefError("malformed_token", "ao without locators")
        if "rsn" in h:
            raw = b64u_decode(h["rsn"]) if isinstance(h["rsn"], str) else b""
            at = [int.from_bytes(raw[k:k + 4], "big")
                  for k in range(0, len(raw), 4 + RSN_TAGBYTES)]
            if (h["v"] < 2 or not raw or len(raw) % (4 + RSN_TAGBYTES)
                    or at != sorted(set(at)) or at[-1] >= h["n"]):
                raise RefError("malformed_token", "rsn")
        if len(payload) not in TAG_LENGTHS:
            raise RefError("malformed_token", "tag length")
    else:
        if {"n", "roles", "loc", "ao", "rsn"} & set(h):
            raise RefError("malformed_token", "message members in state")
        if typ == "state" and len(payload) not in TAG_LENGTHS:
            raise RefError("malformed_token", "tag length")
        if typ == "sealed" and len(payload) < 12 + 16:
            raise RefError("malformed_token", "sealed payload")
    return h, header_bytes, payload


def verify(ring, token, typ, x_of_count, presented=None, now=0, leeway=0,
           cid=None, prn=None, pur=None, tail_roles=None):
    """FORMAT.md section 5 without diagnosis.  x_of_count(n) returns the
    value X of section 4.4 for the first n presented messages (or the state
    digest); presented is the list of role names (conv/msg) or None.
    Returns the header dict; raises RefError with the verdict."""
    if not token:
        raise RefError("missing_signature")
    h, header_bytes, payload = decode_token(token)
    if h["typ"] != typ:
        raise RefError("wrong_token_type", h["typ"])
    keys = dict(ring)
    if h["kid"] not in keys:
        raise RefError("unknown_key", h["kid"])
    key = keys[h["kid"]]
    if len(payload) != tag_length(key):
        # the named key's algorithm decides the length, never the token
        raise RefError("malformed_token", "tag length of another algorithm")
    cid_b, prn_b = _binding(cid), _binding(prn)
    if h.get("pur") != (pur or None):
        raise RefError("binding_mismatch", "purpose")
    want = b64u(binding_check(key, cid_b, prn_b)) if (cid_b or prn_b) else None
    if h.get("bnd") != want:
        raise RefError("binding_mismatch", "binding")
    n = int(h["n"]) if "n" in h else None
    if presented is not None and len(presented) < n:
        raise RefError("invalid_signature", "fewer messages than n")
    tag = compute_tag(key, typ, header_bytes, cid_b, prn_b, x_of_count(n))
    if not hmac.compare_digest(tag, payload):
        raise RefError("invalid_signature")
    if presented is not None:
        tail = presented[n:]
        if tail and tail_roles is None:
            raise RefError("count_mismatch")
        allowed = set((tail_roles or "").split(","))
        for role in tail:
            if role not in allowed:
                raise RefError("role_not_allowed", role)
    if h["iat"] > now + leeway:
        raise RefError("not_yet_valid")
    if "exp" in h and now >= h["exp"] + leeway:
        raise RefError("expired")
    return h


def verify_conv(ring, token, messages, typ="conv", **kw):
    """Tag check of a conv/msg token over parsed messages; the digests are
    those of the token's version."""
    version = VERSION
    if token:
        try:
            version = decode_token(token)[0]["v"]
        except RefError:
            pass
    digests = [message_digest(m, version) for m in messages]
    return verify(ring, token, typ, lambda n: chain_digest(digests[:n]),
                  presented=[m.get("role") for m in messages], **kw)


def kept_reasoning(ring, token, messages):
    """FORMAT.md 2.2, after verify_conv accepted the token: for each message,
    whether its reasoning may be forwarded (None: it has none)."""
    h, _, _ = decode_token(token)
    key = dict(ring)[h["kid"]]
    raw = b64u_decode(h["rsn"]) if "rsn" in h else b""
    tags = {int.from_bytes(raw[k:k + 4], "big"): raw[k + 4:k + 4 + RSN_TAGBYTES]
            for k in range(0, len(raw), 4 + RSN_TAGBYTES)}
    out = []
    for i, m in enumerate(messages):
        core, _, rsn = signed_form(m)
        if rsn is None:
            out.append(None)
        elif i >= h["n"]:
            out.append(False)
        elif h["v"] == 1:
            out.append(True)
        else:
            want = tags.get(i)
            out.append(want is not None and hmac.compare_digest(
                want, rsn_tag(key, sha256(canon(core)), rsn)))
    return out


def verify_state(ring, token, value, **kw):
    digest = sha256(canon(value))
    return verify(ring, token, "state", lambda _n: digest, **kw)


# ------------------------------------------------------------------ CLI --

def _main(argv):
    usage = ("usage: chatseal_ref.py canon < json\n"
             "       chatseal_ref.py sign|msg|state [--now T] < json"
             "   (key ring in CHATSEAL_KEYS)\n")
    if len(argv) < 2:
        sys.stderr.write(usage)
        return 2
    import os
    data = sys.stdin.buffer.read()
    try:
        if argv[1] == "canon":
            sys.stdout.buffer.write(canonicalize(data))
            return 0
        now = int(argv[3]) if len(argv) > 3 and argv[2] == "--now" else 0
        ring = parse_keyring(os.environ.get("CHATSEAL_KEYS", ""))
        value = parse(data)
        if argv[1] == "sign":
            out = sign_messages(ring, messages_of(value), now=now)
        elif argv[1] == "msg":
            out = sign_messages(ring, messages_of([value]), "msg", now=now)
        elif argv[1] == "state":
            out = sign_state(ring, value, now=now)
        else:
            sys.stderr.write(usage)
            return 2
        print(out["token"])
        return 0
    except RefError as exc:
        sys.stderr.write(f"chatseal_ref: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
