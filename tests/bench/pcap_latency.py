#!/usr/bin/env python3
"""Wire-level SIP latencies from a loopback pcap (stdlib only, microsecond timestamps).
# Copied from the Kamailio anchor (../shared/anchors/sip/pcap_latency.py) so the bench measures both sides alike.

usage: pcap_latency.py register PCAP PROXY_PORT [PER_CALL_JSON]
       pcap_latency.py call     PCAP PROXY_PORT UAC_PORT UAS_PORT [PER_CALL_JSON]
Prints one JSON object with per-metric stats in microseconds. With PER_CALL_JSON (SCOPE's
addition), also writes {Call-ID: seconds} of REGISTER -> 200 or INVITE -> 200 there.
"""
import json, struct, sys

def packets(path):
    with open(path, 'rb') as f:
        gh = f.read(24)
        magic = struct.unpack('<I', gh[:4])[0]
        if magic == 0xa1b2c3d4: endian, scale = '<', 1e-6
        elif magic == 0xa1b23c4d: endian, scale = '<', 1e-9
        elif magic == 0xd4c3b2a1: endian, scale = '>', 1e-6
        elif magic == 0x4d3cb2a1: endian, scale = '>', 1e-9
        else: raise SystemExit('not a pcap file')
        linktype = struct.unpack(endian + 'I', gh[20:24])[0]
        l2 = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0, 12: 0}[linktype]
        while True:
            ph = f.read(16)
            if len(ph) < 16: break
            ts, tfrac, incl, _orig = struct.unpack(endian + 'IIII', ph)
            data = f.read(incl)
            ip = data[l2:]
            if not ip or (ip[0] >> 4) != 4: continue
            ihl = (ip[0] & 0xf) * 4
            if ip[9] != 17: continue
            sport, dport = struct.unpack('!HH', ip[ihl:ihl + 4])
            yield ts + tfrac * scale, sport, dport, ip[ihl + 8:]

def parse_sip(payload):
    head = payload.split(b'\r\n\r\n', 1)[0].split(b'\r\n')
    first = head[0].decode('latin-1')
    callid = cseq = None
    for h in head[1:]:
        name, _, val = h.partition(b':')
        n = name.strip().lower()
        if n in (b'call-id', b'i'): callid = val.strip().decode('latin-1')
        elif n == b'cseq': cseq = val.strip().decode('latin-1')
    if first.startswith('SIP/2.0'):
        return 'resp', int(first.split()[1]), callid, cseq
    return 'req', first.split(' ', 1)[0], callid, cseq

def stats(vals):
    vals = sorted(vals)
    n = len(vals)
    if n == 0: return {'n': 0}
    q = lambda p: vals[min(n - 1, int(round(p * (n - 1))))]
    return {'n': n, 'min_us': round(vals[0] * 1e6, 1), 'p50_us': round(q(.5) * 1e6, 1),
            'p90_us': round(q(.9) * 1e6, 1), 'p99_us': round(q(.99) * 1e6, 1),
            'p999_us': round(q(.999) * 1e6, 1), 'max_us': round(vals[-1] * 1e6, 1),
            'mean_us': round(sum(vals) / n * 1e6, 1)}

def main():
    mode, path, proxy = sys.argv[1], sys.argv[2], int(sys.argv[3])
    first = {}   # (tag) -> first timestamp
    npk = 0
    t0 = t1 = None
    for t, sp, dp, pl in packets(path):
        if proxy not in (sp, dp): continue
        try: kind, what, callid, cseq = parse_sip(pl)
        except Exception: continue
        npk += 1
        t0 = t if t0 is None else t0; t1 = t
        key = (kind, what, sp, dp, callid, cseq)
        first.setdefault(key, t)
    out = {'packets': npk, 'span_s': round((t1 - t0), 3) if t0 else 0}
    if mode == 'register':
        lat, unmatched = [], 0
        per_call = {}
        reqs = {(k[2], k[4], k[5]): t for k, t in first.items() if k[0] == 'req' and k[1] == 'REGISTER' and k[3] == proxy}
        for (c, callid, cseq), t in reqs.items():
            r = first.get(('resp', 200, proxy, c, callid, cseq))
            if r is None: unmatched += 1
            else: lat.append(r - t); per_call[callid] = r - t
        if len(sys.argv) > 4: json.dump(per_call, open(sys.argv[4], 'w'))
        out.update({'requests': len(reqs), 'unmatched': unmatched, 'register_to_200': stats(lat)})
    else:
        uac, uas = int(sys.argv[4]), int(sys.argv[5])
        m = {'uac_invite_to_200': [], 'uac_invite_to_100': [], 'proxy_invite_fwd': [],
             'proxy_200_fwd': [], 'uac_bye_to_200': []}
        unmatched = 0
        per_call = {}
        for k, t in first.items():
            if k[0] != 'req' or k[2] != uac or k[3] != proxy: continue
            meth, callid, cseq = k[1], k[4], k[5]
            if meth == 'INVITE':
                r200 = first.get(('resp', 200, proxy, uac, callid, cseq))
                if r200 is None: unmatched += 1; continue
                m['uac_invite_to_200'].append(r200 - t); per_call[callid] = r200 - t
                r100 = first.get(('resp', 100, proxy, uac, callid, cseq))
                if r100 is not None: m['uac_invite_to_100'].append(r100 - t)
                fwd = first.get(('req', 'INVITE', proxy, uas, callid, cseq))
                if fwd is not None: m['proxy_invite_fwd'].append(fwd - t)
                in200 = first.get(('resp', 200, uas, proxy, callid, cseq))
                if in200 is not None: m['proxy_200_fwd'].append(r200 - in200)
            elif meth == 'BYE':
                r = first.get(('resp', 200, proxy, uac, callid, cseq))
                if r is not None: m['uac_bye_to_200'].append(r - t)
        out['unmatched_invites'] = unmatched
        if len(sys.argv) > 6: json.dump(per_call, open(sys.argv[6], 'w'))
        for name, v in m.items(): out[name] = stats(v)
    print(json.dumps(out))

if __name__ == '__main__':
    main()
