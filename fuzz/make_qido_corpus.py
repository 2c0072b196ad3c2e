#!/usr/bin/python3
"""Writes the seed corpus of fuzz_qido_query to fuzz/corpus/qido_query/.

Each seed is one raw QIDO-RS query string (the text after '?'): what real
clients send (OHIF, dicomweb-client, dcm4che, Orthanc's plugin), every match
kind of PS3.4 C.2.2.2, sequence paths, includefield forms, control
parameters, and the malformed inputs the parser must refuse cleanly (bad
escapes, bad dates, numbers, limits). Files are named by what they hold;
crashers found later are kept beside them as crash-<what>.

Usage: fuzz/make_qido_corpus.py [OUTDIR]
"""
import os
import sys

SEEDS = {
    # What clients send.
    "ohif-studies": b"limit=101&offset=0&fuzzymatching=false"
                    b"&includefield=00081030%2C00080060&StudyDate=20200101-20201231",
    "ohif-series": b"includefield=0008103E%2C00080021",
    "dicomweb-client-patient": b"PatientName=Doe%5EJohn*&PatientID=12345&limit=25",
    "dcm4che-modalities": b"ModalitiesInStudy=CT&includefield=all&orderby=StudyDate",
    "instances-by-sop-class": b"SOPClassUID=1.2.840.10008.5.1.4.1.1.2&limit=1",
    "uid-list-comma": b"StudyInstanceUID=1.2.3.4,1.2.3.5,1.2.840.113619.2.55",
    "uid-list-backslash": b"SeriesInstanceUID=1.2.3%5C1.2.4",
    "accession-wildcard": b"AccessionNumber=A12*&StudyID=?1",
    "universal": b"PatientName=&PatientBirthDate=&StudyDescription",
    "tags-hex": b"00100010=Smith&0020000d=1.2.3&00080020=20200101",
    # Dates and times.
    "da-range-closed": b"StudyDate=20200101-20200131",
    "da-range-open-lo": b"StudyDate=-20200131",
    "da-range-open-hi": b"StudyDate=20200101-",
    "da-dash-only": b"StudyDate=-",
    "tm-range": b"StudyTime=1010-120000.5",
    "tm-fraction": b"StudyTime=235960.123456",
    "dt-offset-single": b"AcquisitionDateTime=20200101120000-0500",
    "dt-range-offsets": b"AcquisitionDateTime=20200101120000-0500-20200102%2B0100",
    "dt-years": b"AcquisitionDateTime=2020-2021",
    "bad-da-iso": b"StudyDate=2020-01-01",
    "bad-da-month": b"StudyDate=20201301",
    "bad-tm-colons": b"StudyTime=10:10:10",
    "bad-tm-fraction": b"StudyTime=1010.5",
    "bad-dt-offset": b"AcquisitionDateTime=20200101%2B1500",
    "bad-da-wildcard": b"StudyDate=2020*",
    # Numbers.
    "is-single": b"InstanceNumber=-5&Rows=512&SliceThickness=1.5e3",
    "bad-is-range": b"InstanceNumber=1-10",
    "bad-ds": b"SliceThickness=1.2.3",
    # Person names.
    "pn-fuzzy": b"PatientName=smi+joh&fuzzymatching=true",
    "pn-accents": b"PatientName=%C3%89RIC%5EDupont&fuzzymatching=true",
    "pn-ideographic": b"PatientName=%E5%B1%B1%E7%94%B0%5E%E5%A4%AA%E9%83%8E",
    "pn-wildcards": b"PatientName=S%3Fm*th%5EJ*&ReferringPhysicianName=*",
    "pn-pathological": b"PatientName=a*a*a*a*a*a*a*a*a*a*a*b&fuzzymatching=true",
    # Sequences.
    "seq-path": b"RequestAttributesSequence.ScheduledProcedureStepID=S1"
                b"&00400275.00401001=R*",
    "seq-deep": b"RequestAttributesSequence.RequestAttributesSequence."
                b"RequestAttributesSequence.ScheduledProcedureStepID=1",
    "bad-seq-too-deep": b"00400275.00400275.00400275.00400275.00400009=1",
    "bad-seq-not-sq": b"PatientName.PatientID=x",
    "bad-seq-value": b"RequestAttributesSequence=x",
    "seq-alone-then-path": b"RequestAttributesSequence=&RequestAttributesSequence."
                           b"ScheduledProcedureStepID=",
    # includefield.
    "include-all": b"includefield=all",
    "include-mixed": b"includefield=PatientAge,00101030&includefield=Bogus,all"
                     b"&includefield=00400275.00400009&includefield=,,",
    "bad-include-tag": b"includefield=0010101",
    # Control parameters.
    "limit-zero": b"limit=0&offset=4294967295",
    "bad-limit-negative": b"limit=-1",
    "bad-limit-big": b"limit=4294967296",
    "bad-limit-repeat": b"limit=1&limit=2",
    "bad-fuzzy": b"fuzzymatching=yes",
    # Names and escapes.
    "unknown-ignored": b"foo=bar&patientname=x&charset=utf-8&=x&&&justaname"
                       b"&(0010,0010)=x&x.y.z.w.v.u=1",
    "private-tag": b"00091001=abc*&00091002=",
    "bad-tag-7": b"0010001=x",
    "bad-repeat": b"PatientID=1&00100020=2",
    "escaped-name": b"%50atientName=a+b%2Bc",
    "bad-escape": b"PatientName=%ZZ",
    "bad-escape-trunc": b"PatientName=ab%4",
    "bad-encoded-nul": b"PatientName=a%00b",
    "bad-raw-nul": b"PatientName=a\x00b",
    "bad-utf8": b"PatientName=%C3%28",
    "bad-utf8-surrogate": b"PatientName=%ED%A0%80",
    "bad-empty-uid": b"StudyInstanceUID=1.2,,1.3",
    "raw-high-bytes": b"PatientName=\xff\xfe\xc3&StudyDescription=\xe2\x82",
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "corpus", "qido_query")
    os.makedirs(out, exist_ok=True)
    seeds = dict(SEEDS)
    # Limits: 257 parameters, a 4097-byte value, 257 includefield tags.
    seeds["bad-257-params"] = b"&".join(b"x%d=1" % (i % 10)
                                        for i in range(257))
    seeds["bad-long-value"] = b"PatientID=" + b"x" * 4097
    seeds["bad-257-includes"] = b"includefield=" + b",".join(
        b"%08X" % (0x00110000 + i) for i in range(257))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
