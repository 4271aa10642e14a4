#!/usr/bin/env python3
"""TensorBoard event files read back by an independent reader.

Trains a small model with training.callbacks.tensorboard (per epoch, and
every 3 steps) and reads <run>/tensorboard/events.out.tfevents.* with a
TFRecord reader written here (length, masked CRC-32C of the length, data,
masked CRC-32C of the data; CRC-32C computed here bit by bit) and the
Event/Summary messages decoded by python3-protobuf from descriptors built
from tensorflow's event.proto/summary.proto field numbers. Every epoch's
values must equal metrics.jsonl (as float32), steps must be the epochs and
every 3rd global step, and the first record must carry file_version.

usage: test_tensorboard_reader.py TRAINFLEET   (exit 77: python3-protobuf missing)
"""
import glob
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)


def messages():
    f = descriptor_pb2.FileDescriptorProto(name="tf_event_subset.proto", package="tensorflow", syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto
    value = f.message_type.add(name="SummaryValue")
    value.field.add(name="tag", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    value.field.add(name="simple_value", number=2, type=T.TYPE_FLOAT, label=T.LABEL_OPTIONAL)
    summary = f.message_type.add(name="Summary")
    summary.field.add(name="value", number=1, type=T.TYPE_MESSAGE, type_name=".tensorflow.SummaryValue",
                      label=T.LABEL_REPEATED)
    event = f.message_type.add(name="Event")
    event.field.add(name="wall_time", number=1, type=T.TYPE_DOUBLE, label=T.LABEL_OPTIONAL)
    event.field.add(name="step", number=2, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)
    event.field.add(name="file_version", number=3, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    event.field.add(name="summary", number=5, type=T.TYPE_MESSAGE, type_name=".tensorflow.Summary",
                    label=T.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    desc = pool.FindMessageTypeByName("tensorflow.Event")
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    buf = open(path, "rb").read()
    pos = 0
    while pos < len(buf):
        head = buf[pos:pos + 8]
        (n,) = struct.unpack("<Q", head)
        (len_crc,) = struct.unpack("<I", buf[pos + 8:pos + 12])
        assert len_crc == masked(head), f"length CRC mismatch at {pos}"
        data = buf[pos + 12:pos + 12 + n]
        (data_crc,) = struct.unpack("<I", buf[pos + 12 + n:pos + 16 + n])
        assert data_crc == masked(data), f"data CRC mismatch at {pos}"
        yield data
        pos += 16 + n
    assert pos == len(buf), "trailing bytes"


def main():
    binary = os.path.abspath(sys.argv[1])
    Event = messages()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([binary, "make-data", "--out", "d.h5", "--samples", "120", "--steps", "64"], cwd=tmp,
                       check=True, capture_output=True)
        open(f"{tmp}/c.yaml", "w").write(
            "experiment: {name: tb, run_id: r}\n"
            "data: {path: d.h5, validation_split: 0.25}\n"
            "model: {name: mlp, mlp: {hidden_units: [16]}}\n"
            "training: {epochs: 4, batch_size: 16, metrics: [accuracy, f1_macro],\n"
            "           callbacks: {tensorboard: true, tensorboard_update_freq: 3, early_stopping: false}}\n")
        r = subprocess.run([binary, "train", "c.yaml"], cwd=tmp, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        run = f"{tmp}/runs/tb/r"
        files = glob.glob(f"{run}/tensorboard/events.out.tfevents.*")
        assert len(files) == 1, files
        events = [Event.FromString(d) for d in records(files[0])]
        assert events[0].file_version == "brain.Event:2", events[0]
        epochs = [json.loads(l) for l in open(f"{run}/metrics.jsonl")]
        per_epoch = [e for e in events[1:] if any(not v.tag.startswith("step/") for v in e.summary.value)]
        per_step = [e for e in events[1:] if all(v.tag.startswith("step/") for v in e.summary.value)]
        assert [e.step for e in per_epoch] == [row["epoch"] for row in epochs], [e.step for e in per_epoch]
        checked = 0
        for e, row in zip(per_epoch, epochs):
            got = {v.tag: v.simple_value for v in e.summary.value}
            want = {k: v for k, v in row.items() if k not in ("epoch", "time_s", "samples_per_s")}
            assert set(got) == set(want), (set(got), set(want))
            for k, v in want.items():
                assert got[k] == struct.unpack("<f", struct.pack("<f", v))[0], (k, got[k], v)
                checked += 1
        n_train = len(json.load(open(f"{run}/splits.json"))["train"])
        steps_per_epoch = math.ceil(n_train / 16)
        want_steps = [s for s in range(1, 4 * steps_per_epoch + 1) if s % 3 == 0]
        assert [e.step for e in per_step] == want_steps, ([e.step for e in per_step], want_steps)
        for e in per_step:
            tags = {v.tag: v.simple_value for v in e.summary.value}
            assert set(tags) == {"step/loss", "step/lr"} and tags["step/loss"] > 0 and tags["step/lr"] > 0, tags
        print(f"{len(events)} events: {checked} epoch values equal metrics.jsonl, {len(per_step)} step events, CRCs ok")


if __name__ == "__main__":
    main()
