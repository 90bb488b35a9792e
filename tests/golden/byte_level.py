"""GPT-2's bytes_to_unicode: the printable character a byte-level BPE vocabulary uses for each byte.
Shared by the generator (which writes such vocabularies) and the e2e test (which reads them)."""


def bytes_to_unicode():
    """{byte: character} for all 256 bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))
