#!/usr/bin/python3
"""Raw-socket checks of pacsd's DICOM listener: what dcmtk never sends.

usage: abuse.py store PORT HTTP_BASE   C-STOREs that must be refused (and
                                       one big fragmented one that must not)
       abuse.py abuse PORT PID         broken PDUs and association floods
Prints ok/FAIL lines and "PY_RESULT <passed> <failed>" last.

Each abuse is followed by a C-ECHO on a fresh association: the server must
keep serving. PID is the server's, for /proc (RSS, threads).
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dul  # noqa: E402

passed = 0
failed = 0
HOST = "127.0.0.1"


def ok(msg):
    global passed
    passed += 1
    print("ok   " + msg)


def bad(msg):
    global failed
    failed += 1
    print("FAIL " + msg)


def echo_works(port, what):
    try:
        a = dul.Assoc(HOST, port, [(dul.VERIFICATION, [dul.IMPLICIT_LE])],
                      timeout=10)
        st = a.echo()
        a.release()
    except Exception as e:  # noqa: BLE001
        bad("C-ECHO after %s: %s" % (what, e))
        return False
    if st == 0:
        ok("C-ECHO answered after %s" % what)
        return True
    bad("C-ECHO after %s: status %r" % (what, st))
    return False


def proc_status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(field + ":"):
                return int(ln.split()[1])
    return -1


def read_until_close(s, limit=10.0):
    """Reads until EOF or `limit` seconds; -> (bytes, closed?, seconds)."""
    t0 = time.monotonic()
    s.settimeout(0.5)
    data = b""
    while time.monotonic() - t0 < limit:
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return data, True, time.monotonic() - t0
        if not b:
            return data, True, time.monotonic() - t0
        data += b
    return data, False, time.monotonic() - t0


def verdict(data):
    """What the server sent before closing: 'A-ABORT', 'A-ASSOCIATE-RJ',
    'nothing' or a description."""
    if not data:
        return "nothing"
    pdus = dul.split_pdus(data)
    kinds = [p[0] for p in pdus]
    if kinds and kinds[-1] == dul.A_ABORT:
        return "A-ABORT"
    if kinds and kinds[-1] == dul.A_ASSOCIATE_RJ:
        return "A-ASSOCIATE-RJ"
    return "PDUs %r" % (kinds,)


def connect(port):
    return socket.create_connection((HOST, port), timeout=10)


def associate(port, contexts=None, max_pdu=16384):
    """A raw verified association: -> (socket, leftover, accepted pc ids)."""
    s = connect(port)
    s.sendall(dul.associate_rq(contexts=contexts or
                               [(1, dul.VERIFICATION, [dul.IMPLICIT_LE])],
                               max_pdu=max_pdu))
    buf = b""
    while True:
        pdus = dul.split_pdus(buf)
        if pdus and pdus[0][0] != "partial":
            t, body = pdus[0]
            if t != dul.A_ASSOCIATE_AC:
                raise RuntimeError("association refused: PDU %r" % t)
            ac = dul.parse_associate(body)
            return s, ac
        b = s.recv(65536)
        if not b:
            raise RuntimeError("closed during association")
        buf += b


# ---- raw C-STORE ---------------------------------------------------------------

def store_checks(port, base):
    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import httpget

    ct = "1.2.840.10008.5.1.4.1.1.2"
    a = dul.Assoc(HOST, port, [(ct, [dul.EXPLICIT_LE]),
                               (dul.VERIFICATION, [dul.IMPLICIT_LE])])

    def ds_of(**skip):
        ds = Dataset()
        ds.SOPClassUID = ct
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.PatientName = "Raw^Store"
        ds.PatientID = "RAW1"
        ds.Modality = "CT"
        for k in skip:
            delattr(ds, k)
        return ds

    def enc(ds):
        return dul.encode_identifier(ds, implicit=False)

    def expect(name, sop, data, statuses):
        rsp = a.store(ct, sop, data)
        st = rsp.get("Status")
        if st in statuses:
            ok("%s: 0x%04x (%s)" % (name, st, rsp.get("ErrorComment", "")))
        else:
            bad("%s: status %r (%s), want one of %s" % (
                name, st, rsp.get("ErrorComment", ""),
                ["0x%04x" % x for x in statuses]))
        return st

    good = ds_of()
    expect("raw C-STORE of a valid data set", good.SOPInstanceUID,
           enc(good), {0x0000})
    d = ds_of()
    expect("C-STORE whose data set's SOPInstanceUID differs from the "
           "command's", generate_uid(), enc(d), {0xA900})
    d = ds_of(SOPInstanceUID=1)
    expect("C-STORE of a data set without SOPInstanceUID", generate_uid(),
           enc(d), {0xA900})
    d = ds_of(StudyInstanceUID=1)
    expect("C-STORE of a data set without StudyInstanceUID",
           d.SOPInstanceUID, enc(d), {0xA900})
    d = ds_of(SeriesInstanceUID=1)
    expect("C-STORE of a data set without SeriesInstanceUID",
           d.SOPInstanceUID, enc(d), {0xA900})
    expect("C-STORE of 4 KB of random bytes", generate_uid(),
           os.urandom(4096), {0xC000, 0xA900})
    # Implicit VR bytes over an Explicit VR context: a refusal, or (as
    # dcmtk and pydicom do when the VR bytes are not a VR) read as
    # implicit, and then the attributes must be indexed right.
    d = ds_of()
    rsp = a.store(ct, d.SOPInstanceUID, dul.encode_identifier(d, implicit=True))
    st = rsp.get("Status")
    name = "C-STORE in the wrong encoding (implicit over explicit)"
    if st in (0xC000, 0xA900):
        ok("%s: 0x%04x" % (name, st))
    elif st == 0:
        hits = httpget.qido(base, "/dicom-web/instances?SOPInstanceUID=%s"
                            "&includefield=00100010" % d.SOPInstanceUID)
        pn = hits[0].get("00100010", {}).get("Value", [{}])[0] if hits else {}
        if pn.get("Alphabetic") == "Raw^Store":
            ok("%s: accepted, read as implicit, indexed right" % name)
        else:
            bad("%s: accepted but indexed as %r" % (name, hits))
    else:
        bad("%s: status %r" % (name, st))
    # A data set cut short: the last element's length runs past the end.
    d = ds_of()
    b = enc(d) + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 1000) + b"x" * 10
    expect("C-STORE of a truncated data set", d.SOPInstanceUID, b,
           {0xC000, 0xA900})
    # Re-used SOP Instance UID, other bytes.
    d = ds_of()
    d.SOPInstanceUID = good.SOPInstanceUID
    d.StudyInstanceUID = good.StudyInstanceUID
    d.SeriesInstanceUID = good.SeriesInstanceUID
    d.PatientName = "Other^Bytes"
    expect("raw C-STORE of other bytes under a stored UID",
           good.SOPInstanceUID, enc(d), {0x0111})
    expect("raw C-STORE of the same bytes again", good.SOPInstanceUID,
           enc(good), {0x0000})

    # A 6 MB data set in many PDVs (the peer's max PDU), streamed.
    big = ds_of()
    big.Rows, big.Columns = 1536, 2048
    big.SamplesPerPixel = 1
    big.PhotometricInterpretation = "MONOCHROME2"
    big.BitsAllocated = big.BitsStored = 16
    big.HighBit = 15
    big.PixelRepresentation = 0
    big.PixelData = os.urandom(1536 * 2048 * 2)
    data = enc(big)
    if expect("6 MB C-STORE in %d-byte PDUs" % a.peer_max,
              big.SOPInstanceUID, data, {0x0000}) == 0:
        try:
            p10 = httpget.fetch_instance(base, big.SOPInstanceUID)
            _, stored = httpget.split_meta(p10)
            if stored == data:
                ok("the 6 MB instance is stored byte-identical")
            else:
                bad("the 6 MB instance differs (%d vs %d bytes)"
                    % (len(stored), len(data)))
        except Exception as e:  # noqa: BLE001
            bad("retrieving the 6 MB instance: %s" % e)
    # The association survived every refusal.
    if a.echo() == 0:
        ok("the association still answers C-ECHO after the refusals")
    else:
        bad("C-ECHO on the association after the refusals")
    # C-STORE on a context whose abstract syntax is not the command's.
    mr = "1.2.840.10008.5.1.4.1.1.4"
    d = ds_of()
    pc, _ = a.pcs[ct]
    a.send_message(pc, dul.encode_command(
        AffectedSOPClassUID=mr, CommandField=dul.C_STORE_RQ,
        MessageID=a.next_id(), Priority=0, CommandDataSetType=0,
        AffectedSOPInstanceUID=d.SOPInstanceUID), enc(d))
    # Not counted: PS3.7 does not say in so many words that the SCP must
    # check this; 0x0122 (SOP class not supported) would be the answer.
    try:
        t, body = a.recv_pdu()
        if t == dul.P_DATA_TF:
            st = next(dul.messages([body]))[1].get("Status", 0)
            print("NOTE C-STORE of an MR instance on the CT Image Storage "
                  "context: status 0x%04x" % st)
        else:
            print("NOTE C-STORE on the wrong context: PDU %d" % t)
    except Exception as e:  # noqa: BLE001
        print("NOTE C-STORE on the wrong context: %s" % e)
    a.close()
    del pydicom
    echo_works(port, "the raw C-STOREs")


# ---- abuse -----------------------------------------------------------------------

def garbage_rq(port):
    """(a) bytes that are no A-ASSOCIATE-RQ."""
    # The user information item (the last one) claims 100 bytes more than
    # the PDU holds.
    rq = bytearray(dul.associate_rq())
    i = rq.rfind(b"\x50\x00")
    (n,) = struct.unpack(">H", rq[i + 2:i + 4])
    rq[i + 2:i + 4] = struct.pack(">H", n + 100)
    cases = [
        ("1 KB of random bytes", b"\xff" + os.urandom(1023)),
        ("an HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("an unknown PDU type 0x55",
         struct.pack(">BBI", 0x55, 0, 4) + b"\0" * 4),
        ("a P-DATA-TF before any association",
         dul.p_data([(1, 3, b"\0" * 8)])),
        ("an A-ASSOCIATE-RQ with a 10-byte body",
         struct.pack(">BBI", 1, 0, 10) + b"\0" * 10),
        ("an A-ASSOCIATE-RQ whose item runs past the PDU", bytes(rq)),
    ]
    for name, data in cases:
        s = connect(port)
        try:
            s.sendall(data)
        except OSError:
            pass
        got, closed, secs = read_until_close(s, 10)
        s.close()
        v = verdict(got)
        if closed and v in ("A-ABORT", "A-ASSOCIATE-RJ", "nothing"):
            ok("(a) %s: %s, closed after %.2f s" % (name, v, secs))
        else:
            bad("(a) %s: %s, closed=%s after %.1f s" % (name, v, closed, secs))
    echo_works(port, "garbage instead of an A-ASSOCIATE-RQ")

    # Protocol version 2 only (PS3.8 9.3.2: bit 0 must be set): RJ
    # permanent, service provider (ACSE), protocol version not supported.
    rq = bytearray(dul.associate_rq())
    rq[6:8] = b"\x00\x02"
    s = connect(port)
    s.sendall(bytes(rq))
    got, closed, _ = read_until_close(s, 10)
    s.close()
    pdus = dul.split_pdus(got)
    if pdus and pdus[0][0] == dul.A_ASSOCIATE_RJ:
        b = pdus[0][1]
        ok("protocol version 2: A-ASSOCIATE-RJ result %d source %d reason %d"
           % (b[1], b[2], b[3]))
    elif pdus and pdus[0][0] == dul.A_ASSOCIATE_AC:
        bad("protocol version 2 only: accepted")
    else:
        ok("protocol version 2 only: %s" % verdict(got))

    # Only an unknown abstract syntax: AC with the context refused
    # (PS3.8 9.3.3.2 result 3), or RJ.
    s = connect(port)
    s.sendall(dul.associate_rq(contexts=[(1, "1.2.3.4.5.6.7", [dul.IMPLICIT_LE]),
                                         (3, dul.VERIFICATION, ["1.2.3.4"])]))
    got, closed, _ = read_until_close(s, 2)
    pdus = dul.split_pdus(got)
    if pdus and pdus[0][0] == dul.A_ASSOCIATE_AC:
        ctx = dul.parse_associate(pdus[0][1])["contexts"]
        r1 = ctx.get(1, (None,))[0]
        r3 = ctx.get(3, (None,))[0]
        if r1 == 3 and r3 == 4:
            ok("unknown abstract syntax refused (3), unknown transfer "
               "syntax refused (4)")
        else:
            bad("context results %r %r, want 3 and 4" % (r1, r3))
        s.sendall(dul.abort_pdu())
    elif pdus and pdus[0][0] == dul.A_ASSOCIATE_RJ:
        ok("no usable context: A-ASSOCIATE-RJ")
    else:
        bad("no usable context: %s" % verdict(got))
    s.close()


def stall_start(port, data):
    """(b) a partial A-ASSOCIATE-RQ, then silence. A thread waits for the
    server to close it (ARTIM, 30 s)."""
    s = connect(port)
    s.sendall(data)
    res = {"t0": time.monotonic(), "closed": None, "data": b""}

    def wait():
        got, closed, secs = read_until_close(s, 45)
        res["data"] = got
        res["closed"] = secs if closed else False
        s.close()
    th = threading.Thread(target=wait, daemon=True)
    th.start()
    return res, th


def stall_finish(name, res, th):
    th.join(timeout=max(0.0, 45 - (time.monotonic() - res["t0"])) + 1)
    if res["closed"] is None or res["closed"] is False:
        bad("(b) %s: still open after 45 s (ARTIM is 30 s)" % name)
    elif res["closed"] < 25:
        bad("(b) %s: closed after %.1f s, before ARTIM (30 s)"
            % (name, res["closed"]))
    else:
        ok("(b) %s: closed by the server after %.1f s (ARTIM 30 s): %s"
           % (name, res["closed"], verdict(res["data"])))


def huge_pdu(port, pid):
    """(c) a 2 GB PDU length: refused at once, nothing allocated."""
    rss0 = proc_status(pid, "VmRSS")
    for name, t in (("A-ASSOCIATE-RQ", 1), ("unknown type 0x09", 9)):
        s = connect(port)
        s.sendall(struct.pack(">BBI", t, 0, 0x7FFFFFFF) + os.urandom(64 * 1024))
        got, closed, secs = read_until_close(s, 10)
        s.close()
        if closed and secs < 5:
            ok("(c) %s of length 0x7fffffff: %s after %.2f s"
               % (name, verdict(got), secs))
        else:
            bad("(c) %s of length 0x7fffffff: %s, closed=%s after %.1f s"
                % (name, verdict(got), closed, secs))
    # The same inside an association: a P-DATA-TF longer than the max PDU
    # length the server announced (PS3.8 9.3.1 / D.1).
    s, ac = associate(port)
    s.sendall(struct.pack(">BBI", dul.P_DATA_TF, 0, 0x7FFFFFFF) +
              os.urandom(64 * 1024))
    got, closed, secs = read_until_close(s, 10)
    s.close()
    if closed and verdict(got) == "A-ABORT":
        ok("(c) P-DATA-TF of length 0x7fffffff (server max %d): A-ABORT "
           "after %.2f s" % (ac["max_pdu"], secs))
    else:
        bad("(c) P-DATA-TF of length 0x7fffffff: %s, closed=%s"
            % (verdict(got), closed))
    rss1 = proc_status(pid, "VmRSS")
    if rss1 - rss0 < 64 * 1024:
        ok("(c) server RSS %d -> %d kB after the huge lengths" % (rss0, rss1))
    else:
        bad("(c) server RSS grew %d -> %d kB" % (rss0, rss1))
    echo_works(port, "huge PDU lengths")


def garbage_pdata(port):
    """(d) a valid association, then broken P-DATA."""
    ctx = [(1, dul.VERIFICATION, [dul.IMPLICIT_LE])]
    cases = [
        ("PDV length past the PDU",
         struct.pack(">BBI", 4, 0, 10) + struct.pack(">IBB", 100, 1, 3) + b"xxxx"),
        ("PDV length 0", struct.pack(">BBI", 4, 0, 4) + struct.pack(">I", 0)),
        ("PDV on an unknown presentation context 99",
         dul.p_data([(99, 3, dul.encode_command(
             AffectedSOPClassUID=dul.VERIFICATION,
             CommandField=dul.C_ECHO_RQ, MessageID=1,
             CommandDataSetType=dul.NO_DATA_SET))])),
        ("random bytes as a command set", dul.p_data([(1, 3, os.urandom(200))])),
        ("a command element longer than the command",
         dul.p_data([(1, 3, struct.pack("<HHII", 0, 0, 4, 50) +
                      struct.pack("<HHI", 0, 0x100, 0xFFFFFF00) + b"\0\0")])),
        ("a data set fragment with no command before it",
         dul.p_data([(1, 2, b"\x08\x00\x05\x00")])),
        ("an A-ASSOCIATE-RQ inside the association", dul.associate_rq()),
        ("random bytes after the association",
         os.urandom(512)),
    ]
    for name, data in cases:
        s, _ = associate(port, ctx)
        s.sendall(data)
        got, closed, secs = read_until_close(s, 10)
        s.close()
        v = verdict(got)
        if closed and v == "A-ABORT":
            ok("(d) %s: A-ABORT, closed after %.2f s" % (name, secs))
        elif closed and v.startswith("PDUs") and dul.split_pdus(got) and \
                dul.split_pdus(got)[0][0] == dul.P_DATA_TF:
            # A failure response (e.g. 0x0122 for an unknown context?) is
            # acceptable only if the server then aborted or closed.
            ok("(d) %s: answered %s, then closed" % (name, v))
        else:
            bad("(d) %s: %s, closed=%s after %.1f s" % (name, v, closed, secs))
    echo_works(port, "garbage P-DATA")


def flood(port, pid, n=200, limit=100):
    """(e) n simultaneous associations: `limit` accepted (connections still
    waiting for their A-ASSOCIATE-RQ count: `limit` is what is left), the
    rest
    A-ASSOCIATE-RJ transient/provider(presentation)/local limit exceeded
    (PS3.8 9.3.4: result 2, source 3, reason 2) or closed."""
    threads0 = proc_status(pid, "Threads")
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection((HOST, port), timeout=20)
            socks.append(s)
        except OSError as e:
            bad("(e) connect %d: %s" % (len(socks) + 1, e))
            break
    rq = dul.associate_rq(contexts=[(1, dul.VERIFICATION, [dul.IMPLICIT_LE])])
    for s in socks:
        try:
            s.sendall(rq)
        except OSError:
            pass
    results = []
    for s in socks:
        buf = b""
        s.settimeout(20)
        try:
            while True:
                pdus = dul.split_pdus(buf)
                if pdus and pdus[0][0] != "partial":
                    break
                b = s.recv(65536)
                if not b:
                    break
                buf += b
        except OSError:
            pass
        pdus = dul.split_pdus(buf)
        if pdus and pdus[0][0] == dul.A_ASSOCIATE_AC:
            results.append(("AC", s))
        elif pdus and pdus[0][0] == dul.A_ASSOCIATE_RJ:
            b = pdus[0][1]
            results.append(("RJ %d/%d/%d" % (b[1], b[2], b[3]), s))
        else:
            results.append(("closed" if not buf else "other", s))
    n_ac = sum(1 for r, _ in results if r == "AC")
    kinds = {}
    for r, _ in results:
        kinds[r] = kinds.get(r, 0) + 1
    threads_peak = proc_status(pid, "Threads")
    desc = ", ".join("%s: %d" % kv for kv in sorted(kinds.items()))
    rest_ok = all(r in ("RJ 2/3/2", "closed") for r, _ in results if r != "AC")
    if n_ac == limit and rest_ok:
        ok("(e) %d simultaneous associations: %s" % (n, desc))
    else:
        bad("(e) %d simultaneous associations: %s (want %d AC, the rest "
            "RJ 2/3/2 or closed)" % (n, desc, limit))
    # While the limit is reached, a new one is refused too.
    out = subprocess.run(["echoscu", "-to", "10", "-aec", "PACSD", HOST,
                          str(port)], capture_output=True, text=True)
    if out.returncode != 0:
        ok("(e) echoscu at the limit is refused")
    else:
        bad("(e) echoscu succeeded while %d associations were open" % n_ac)
    # Release ten: echoscu works again.
    accepted = [s for r, s in results if r == "AC"]
    for s in accepted[:10]:
        try:
            s.sendall(dul.release_rq())
            s.settimeout(10)
            s.recv(64)
        except OSError:
            pass
        s.close()
    served = False
    for _ in range(20):
        out = subprocess.run(["echoscu", "-to", "10", "-aec", "PACSD", HOST,
                              str(port)], capture_output=True, text=True)
        if out.returncode == 0:
            served = True
            break
        time.sleep(0.1)
    if served:
        ok("(e) echoscu served after releasing 10 of the %d" % n_ac)
    else:
        bad("(e) echoscu still refused after releasing 10: %s" % out.stderr)
    # The accepted ones still work.
    if accepted[10:]:
        s = accepted[10]
        try:
            s.sendall(dul.p_data([(1, 3, dul.encode_command(
                AffectedSOPClassUID=dul.VERIFICATION,
                CommandField=dul.C_ECHO_RQ, MessageID=7,
                CommandDataSetType=dul.NO_DATA_SET))]))
            t = s.recv(6)
            ok("(e) an idle accepted association answers C-ECHO") if t and \
                t[0] == dul.P_DATA_TF else bad("(e) idle association: %r" % t)
        except OSError as e:
            bad("(e) idle association: %s" % e)
    for _, s in results:
        try:
            s.close()
        except OSError:
            pass
    back = None
    for _ in range(100):
        back = proc_status(pid, "Threads")
        if back <= threads0 + 2:
            break
        time.sleep(0.1)
    if back <= threads0 + 2:
        ok("(e) threads: %d before, %d with the associations open, %d after"
           % (threads0, threads_peak, back))
    else:
        bad("(e) threads: %d before, %d open, still %d 10 s after closing"
            % (threads0, threads_peak, back))
    echo_works(port, "the flood")


STALL_HEAD = "3 bytes of a PDU header"
STALL_BODY = "an A-ASSOCIATE-RQ header promising 1000 bytes, then 10"


def abuse(port, pid):
    stall1, th1 = stall_start(port, b"\x01\x00\x00")
    stall, th = stall_start(port, struct.pack(">BBI", 1, 0, 1000) + b"\0" * 10)
    # The stalled connections must not hold up others.
    echo_works(port, "two stalled A-ASSOCIATE-RQs opened (in parallel)")
    out = subprocess.run(["echoscu", "-to", "10", "-aec", "PACSD", HOST,
                          str(port)], capture_output=True, text=True)
    if out.returncode == 0:
        ok("echoscu served while two A-ASSOCIATE-RQs stall")
    else:
        bad("echoscu while two A-ASSOCIATE-RQs stall: %s" % out.stderr)
    garbage_rq(port)
    huge_pdu(port, pid)
    garbage_pdata(port)
    # Connections waiting for their A-ASSOCIATE-RQ hold places among the
    # 100: the stalls end (server or client side, 45 s) before the flood.
    stall_finish(STALL_HEAD, stall1, th1)
    stall_finish(STALL_BODY, stall, th)
    flood(port, pid)


def main():
    try:
        if sys.argv[1] == "store":
            store_checks(int(sys.argv[2]), sys.argv[3])
        else:
            abuse(int(sys.argv[2]), int(sys.argv[3]))
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        bad("abuse.py %s crashed: %s" % (sys.argv[1], e))
    print("PY_RESULT %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
