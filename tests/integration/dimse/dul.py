"""A small DICOM upper layer and DIMSE client for the tests (standard library
plus pydicom for identifiers).

Written from PS3.8 9.3 (PDU layouts) and PS3.7 E.1 (command sets), so that
the tests can send what dcmtk never would: broken PDUs, stalled headers,
hundreds of idle associations, raw command sets. Also parses the byte
streams that wiretap.py records, to know exactly what a peer sent.

Nothing here is clever on purpose: each function does one PDU or one
command set, and raises ProtocolError on anything unexpected.
"""
import io
import socket
import struct

APP_CONTEXT = "1.2.840.10008.3.1.1.1"
VERIFICATION = "1.2.840.10008.1.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPL_CLASS = "2.25.1155110429811742389017218113245201"  # this test client

C_STORE_RQ, C_STORE_RSP = 0x0001, 0x8001
C_FIND_RQ, C_FIND_RSP = 0x0020, 0x8020
C_ECHO_RQ, C_ECHO_RSP = 0x0030, 0x8030
C_CANCEL_RQ = 0x0FFF
NO_DATA_SET = 0x0101

A_ASSOCIATE_RQ, A_ASSOCIATE_AC, A_ASSOCIATE_RJ = 1, 2, 3
P_DATA_TF, A_RELEASE_RQ, A_RELEASE_RP, A_ABORT = 4, 5, 6, 7


class ProtocolError(Exception):
    pass


# ---- PDUs (PS3.8 9.3) ------------------------------------------------------

def _uid(s):
    b = s.encode("ascii")
    return b + b"\0" if len(b) % 2 else b


def _item(t, body):
    return struct.pack(">BBH", t, 0, len(body)) + body


def _ae(s):
    return s.encode("ascii").ljust(16)[:16]


def associate_rq(called="PACSD", calling="DIMSETEST", contexts=None,
                 max_pdu=16384):
    """contexts: list of (id, abstract syntax, [transfer syntaxes])."""
    if contexts is None:
        contexts = [(1, VERIFICATION, [IMPLICIT_LE])]
    items = _item(0x10, _uid(APP_CONTEXT))
    for pc_id, abstract, tss in contexts:
        sub = _item(0x30, _uid(abstract))
        for ts in tss:
            sub += _item(0x40, _uid(ts))
        items += _item(0x20, bytes([pc_id, 0, 0, 0]) + sub)
    user = (_item(0x51, struct.pack(">I", max_pdu)) +
            _item(0x52, _uid(IMPL_CLASS)) + _item(0x55, b"DIMSETEST_PY"))
    items += _item(0x50, user)
    body = (struct.pack(">HH", 1, 0) + _ae(called) + _ae(calling) +
            b"\0" * 32 + items)
    return struct.pack(">BBI", A_ASSOCIATE_RQ, 0, len(body)) + body


def release_rq():
    return struct.pack(">BBI", A_RELEASE_RQ, 0, 4) + b"\0" * 4


def abort_pdu(source=0, reason=0):
    return struct.pack(">BBI", A_ABORT, 0, 4) + bytes([0, 0, source, reason])


def p_data(pdvs):
    """pdvs: list of (pc id, control byte, bytes)."""
    body = b"".join(struct.pack(">IBB", len(d) + 2, pc, ctl) + d
                    for pc, ctl, d in pdvs)
    return struct.pack(">BBI", P_DATA_TF, 0, len(body)) + body


def split_pdus(data):
    """Splits a byte stream into (type, body) PDUs; a trailing partial PDU
    is returned as ('partial', bytes)."""
    out = []
    i = 0
    while i + 6 <= len(data):
        t = data[i]
        (n,) = struct.unpack(">I", data[i + 2:i + 6])
        if i + 6 + n > len(data):
            break
        out.append((t, data[i + 6:i + 6 + n]))
        i += 6 + n
    if i < len(data):
        out.append(("partial", data[i:]))
    return out


def _items(body):
    i = 0
    while i + 4 <= len(body):
        t = body[i]
        (n,) = struct.unpack(">H", body[i + 2:i + 4])
        if i + 4 + n > len(body):
            raise ProtocolError("item runs past its PDU")
        yield t, body[i + 4:i + 4 + n]
        i += 4 + n


def _str(b):
    return b.rstrip(b"\0 ").decode("ascii", "replace")


def parse_associate(body):
    """A-ASSOCIATE-RQ or -AC body -> dict(called, calling, contexts
    {id: (result_or_None, [syntaxes])}, max_pdu)."""
    if len(body) < 68:
        raise ProtocolError("short A-ASSOCIATE PDU")
    out = {"called": _str(body[4:20]), "calling": _str(body[20:36]),
           "contexts": {}, "max_pdu": 0, "impl": ""}
    for t, v in _items(body[68:]):
        if t in (0x20, 0x21):
            names = [_str(sv) for st, sv in _items(v[4:]) if st in (0x30, 0x40)]
            out["contexts"][v[0]] = (v[2] if t == 0x21 else None, names)
        elif t == 0x50:
            for st, sv in _items(v):
                if st == 0x51:
                    (out["max_pdu"],) = struct.unpack(">I", sv)
                elif st == 0x52:
                    out["impl"] = _str(sv)
    return out


def parse_pdvs(body):
    """P-DATA-TF body -> [(pc id, control, data)]."""
    out = []
    i = 0
    while i < len(body):
        if i + 6 > len(body):
            raise ProtocolError("PDV header past the PDU")
        (n,) = struct.unpack(">I", body[i:i + 4])
        if n < 2 or i + 4 + n > len(body):
            raise ProtocolError("PDV length %d out of bounds" % n)
        out.append((body[i + 4], body[i + 5], body[i + 6:i + 4 + n]))
        i += 4 + n
    return out


# ---- command sets (PS3.7 E.1, implicit VR little endian) -------------------

US_TAGS = {0x0100, 0x0110, 0x0120, 0x0700, 0x0800, 0x0900, 0x1020,
           0x1021, 0x1022, 0x1023}
UI_TAGS = {0x0002, 0x0003, 0x1000, 0x1001}
NAMES = {0x0002: "AffectedSOPClassUID", 0x0003: "RequestedSOPClassUID",
         0x0100: "CommandField", 0x0110: "MessageID",
         0x0120: "MessageIDBeingRespondedTo", 0x0600: "MoveDestination",
         0x0700: "Priority", 0x0800: "CommandDataSetType",
         0x0900: "Status", 0x0901: "OffendingElement",
         0x0902: "ErrorComment", 0x1000: "AffectedSOPInstanceUID",
         0x1030: "MoveOriginatorApplicationEntityTitle",
         0x1031: "MoveOriginatorMessageID"}
TAGS = {v: k for k, v in NAMES.items()}


def encode_command(**fields):
    """encode_command(CommandField=..., MessageID=..., ...) -> bytes."""
    elems = []
    for name, value in fields.items():
        tag = TAGS[name]
        if tag in US_TAGS:
            v = struct.pack("<H", value)
        elif tag in UI_TAGS:
            v = _uid(value)
        else:
            v = value.encode("ascii")
            if len(v) % 2:
                v += b" "
        elems.append((tag, v))
    elems.sort()
    body = b"".join(struct.pack("<HHI", 0, t, len(v)) + v for t, v in elems)
    return struct.pack("<HHII", 0, 0, 4, len(body)) + body


def decode_command(b):
    out = {}
    i = 0
    while i + 8 <= len(b):
        g, e, n = struct.unpack("<HHI", b[i:i + 8])
        v = b[i + 8:i + 8 + n]
        if len(v) != n:
            raise ProtocolError("command element past the end")
        i += 8 + n
        if g != 0:
            raise ProtocolError("command element outside group 0000")
        name = NAMES.get(e, "%04x" % e)
        if e in US_TAGS and n == 2:
            out[name] = struct.unpack("<H", v)[0]
        elif e == 0x0000:
            out["CommandGroupLength"] = struct.unpack("<I", v)[0]
        else:
            out[name] = v.rstrip(b"\0 ").decode("ascii", "replace")
    return out


def has_data(cmd):
    return cmd.get("CommandDataSetType", NO_DATA_SET) != NO_DATA_SET


def messages(pdu_bodies):
    """Reassembles P-DATA bodies into DIMSE messages:
    yields (pc id, command dict, data set bytes or None)."""
    cmd = None
    cmd_buf = b""
    ds = []
    pc_of = None
    for body in pdu_bodies:
        for pc, ctl, data in parse_pdvs(body):
            if ctl & 1:
                cmd_buf += data
                if ctl & 2:
                    cmd = decode_command(cmd_buf)
                    cmd_buf = b""
                    pc_of = pc
                    if not has_data(cmd):
                        yield pc, cmd, None
                        cmd = None
            else:
                if cmd is None:
                    raise ProtocolError("data set PDV without a command")
                ds.append(data)
                if ctl & 2:
                    yield pc_of, cmd, b"".join(ds)
                    ds = []
                    cmd = None


# ---- identifiers ------------------------------------------------------------

def encode_identifier(ds, implicit=True):
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = implicit
    write_dataset(fp, ds)
    return fp.getvalue()


def decode_identifier(b, implicit=True):
    from pydicom.filereader import read_dataset
    return read_dataset(io.BytesIO(b), implicit, True)


# ---- a blocking client --------------------------------------------------------

class Assoc:
    """One association over a socket: open with contexts, then send/recv
    DIMSE messages. Context ids are 1, 3, 5... in the order given."""

    def __init__(self, host, port, contexts, called="PACSD",
                 calling="DIMSETEST", timeout=30, max_pdu=16384):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        # Each message goes out in one write; no Nagle delay on the last.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.max_pdu = max_pdu
        rq = [(2 * i + 1, a, tss) for i, (a, tss) in enumerate(contexts)]
        self.sock.sendall(associate_rq(called, calling, rq, max_pdu))
        t, body = self.recv_pdu()
        if t == A_ASSOCIATE_RJ:
            raise ProtocolError("association rejected: result %d source %d "
                                "reason %d" % (body[1], body[2], body[3]))
        if t != A_ASSOCIATE_AC:
            raise ProtocolError("expected A-ASSOCIATE-AC, got PDU %d" % t)
        ac = parse_associate(body)
        self.peer_max = ac["max_pdu"] or (1 << 30)
        self.pcs = {}  # abstract syntax -> (pc id, transfer syntax)
        for pc_id, a, tss in rq:
            res, names = ac["contexts"].get(pc_id, (None, []))
            if res == 0 and names:
                self.pcs[a] = (pc_id, names[0])
        self.msg_id = 0

    def recv_exact(self, n):
        while len(self.buf) < n:
            b = self.sock.recv(max(65536, n - len(self.buf)))
            if not b:
                raise ProtocolError("connection closed")
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_pdu(self):
        h = self.recv_exact(6)
        (n,) = struct.unpack(">I", h[2:6])
        return h[0], self.recv_exact(n)

    def send_message(self, pc_id, cmd, data=None):
        frags = [(pc_id, 3, cmd)]
        if data is not None:
            step = min(self.peer_max, 1 << 20) - 6
            for i in range(0, max(len(data), 1), step):
                last = i + step >= len(data)
                frags.append((pc_id, 2 if last else 0, data[i:i + step]))
        self.sock.sendall(b"".join(p_data([f]) for f in frags))

    def recv_message(self):
        """-> (pc id, command dict, data bytes or None)."""
        bodies = []
        while True:
            t, body = self.recv_pdu()
            if t != P_DATA_TF:
                raise ProtocolError("expected P-DATA-TF, got PDU %d %r"
                                    % (t, body[:8]))
            bodies.append(body)
            try:
                for m in messages(bodies):
                    return m
            except ProtocolError:
                raise

    def next_id(self):
        self.msg_id = (self.msg_id + 1) & 0xFFFF
        return self.msg_id

    def echo(self):
        pc_id, _ = self.pcs[VERIFICATION]
        self.send_message(pc_id, encode_command(
            AffectedSOPClassUID=VERIFICATION, CommandField=C_ECHO_RQ,
            MessageID=self.next_id(), CommandDataSetType=NO_DATA_SET))
        return self.recv_message()[1].get("Status")

    def find_raw(self, model, ident_bytes, msg_id=None):
        """Sends one C-FIND-RQ with a pre-encoded identifier; returns the
        number of pending responses and the final status."""
        pc_id, _ = self.pcs[model]
        self.send_message(pc_id, encode_command(
            AffectedSOPClassUID=model, CommandField=C_FIND_RQ,
            MessageID=msg_id or self.next_id(), Priority=0,
            CommandDataSetType=0), ident_bytes)
        n = 0
        while True:
            _, cmd, data = self.recv_message()
            st = cmd.get("Status")
            if st in (0xFF00, 0xFF01):
                n += 1
                continue
            return n, st

    def find(self, model, ds):
        """-> (list of identifier datasets, final status)."""
        pc_id, ts = self.pcs[model]
        implicit = ts == IMPLICIT_LE
        self.send_message(pc_id, encode_command(
            AffectedSOPClassUID=model, CommandField=C_FIND_RQ,
            MessageID=self.next_id(), Priority=0, CommandDataSetType=0),
            encode_identifier(ds, implicit))
        out = []
        while True:
            _, cmd, data = self.recv_message()
            st = cmd.get("Status")
            if st in (0xFF00, 0xFF01):
                out.append(decode_identifier(data, implicit))
                continue
            return out, st

    def store(self, sop_class, sop_instance, data_bytes):
        pc_id, _ = self.pcs[sop_class]
        self.send_message(pc_id, encode_command(
            AffectedSOPClassUID=sop_class, CommandField=C_STORE_RQ,
            MessageID=self.next_id(), Priority=0, CommandDataSetType=0,
            AffectedSOPInstanceUID=sop_instance), data_bytes)
        return self.recv_message()[1]

    def release(self):
        self.sock.sendall(release_rq())
        t, _ = self.recv_pdu()
        self.sock.close()
        return t == A_RELEASE_RP

    def close(self):
        self.sock.close()
