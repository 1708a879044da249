"""The results record that carries hands, gestures and faces across the process boundary."""
import math
import struct

import pytest

from facefx import results as R
from facefx.results import (Face, FrameResults, GestureHit, Hand, ResultsError, decode, encode)


def _hand(handedness="right", dx=0.0, score=0.75):
    # Multiples of 1/64: exact in float32, so round trips compare equal.
    return Hand(tuple((0.25 + dx + k / 64, 0.5 - k / 128, -k / 256) for k in range(21)), handedness, score)


def _face(i=0, n_landmarks=5):
    return Face(track_id=7 + i, box=(0.25, 0.125, 0.25, 0.375), score=0.875, roll=0.5,
                landmarks=tuple((k / 512, 1 - k / 512) for k in range(n_landmarks)),
                expression="happy", expression_score=0.625)


FULL = FrameResults(frame_index=41, timestamp=12.345678, hands=(_hand("left"), _hand("right", 0.25)),
                    gestures=(GestureHit("heart_hands", 0.5, (0, 1)), GestureHit("ok", 0.25, (1,)),
                              GestureHit("Daumen hoch \u2714", 1.0, (0,))),
                    faces=(_face(0), _face(1, 0)), hands_age=0.03125, faces_age=0.0625,
                    heads=((0.125, 0.25, 0.5, 0.75),), has_faces=True, frame_size=(1280, 720))


@pytest.mark.parametrize("res", [FrameResults(), FULL, FrameResults(hands=(_hand(),)),
                                 FrameResults(faces=(_face(0, R.MAX_FACE_LANDMARKS),))])
def test_round_trip(res):
    data = encode(res)
    assert len(data) <= R.MAX_ENCODED_SIZE
    assert decode(data) == res


def test_record_inside_a_larger_zeroed_area_reads_back():
    area = bytearray(R.MAX_ENCODED_SIZE)
    data = encode(FULL)
    area[:len(data)] = data
    assert decode(area) == FULL
    assert decode(memoryview(area)) == FULL


def test_full_capacity_fits_the_declared_maximum():
    name = "x" * R.MAX_NAME_BYTES
    res = FrameResults(hands=tuple(_hand() for _ in range(R.MAX_HANDS)),
                       gestures=tuple(GestureHit(name, 1.0, (0, 1)) for _ in range(R.MAX_GESTURES)),
                       faces=tuple(Face(1, (0, 0, 1, 1), 1.0, 0.0, ((0.5, 0.5),) * R.MAX_FACE_LANDMARKS,
                                        "e" * R.MAX_NAME_BYTES, 1.0) for _ in range(R.MAX_FACES)),
                       heads=((0.0, 0.0, 1.0, 1.0),) * R.MAX_HEADS, has_faces=True, frame_size=(65535, 65535))
    data = encode(res)
    assert len(data) == R.MAX_ENCODED_SIZE
    assert decode(data) == res


@pytest.mark.parametrize("res,match", [
    (FrameResults(hands=tuple(_hand() for _ in range(R.MAX_HANDS + 1))), "5 hands exceed .* capacity of 4"),
    (FrameResults(hands=(_hand(),), gestures=tuple(GestureHit("ok", 1, (0,)) for _ in range(R.MAX_GESTURES + 1))),
     "17 gestures exceed"),
    (FrameResults(faces=tuple(_face() for _ in range(R.MAX_FACES + 1))), "9 faces exceed"),
    (FrameResults(faces=(_face(0, R.MAX_FACE_LANDMARKS + 1),)), "479 landmarks on face 0 exceed"),
    (FrameResults(hands=(_hand(),), gestures=(GestureHit("x" * 65, 1, (0,)),)), "gesture 0 name must be 1 to 64"),
    (FrameResults(hands=(_hand(),), gestures=(GestureHit("", 1, (0,)),)), "gesture 0 name must be 1 to 64"),
    (FrameResults(hands=(_hand(),), gestures=(GestureHit("ok", 1, (1,)),)), "names hand 1; the frame has 1"),
    (FrameResults(hands=(_hand(),), gestures=(GestureHit("ok", 1, ()),)), "must name 1 or 2 hands"),
    (FrameResults(hands=(_hand(),), gestures=(GestureHit("ok", 1.5, (0,)),)), "gesture 0 score must be from 0 to 1"),
    (FrameResults(hands=(_hand("both"),)), "handedness must be 'left' or 'right'"),
    (FrameResults(hands=(Hand(((0, 0, 0),) * 20, "left", 1),)), "must have 21 landmarks"),
    (FrameResults(hands=(Hand(((math.nan, 0, 0),) * 21, "left", 1),)), "landmark coordinate must be from"),
    (FrameResults(hands=(_hand(score=-0.1),)), "hand 0 score"),
    (FrameResults(faces=(Face(1, (0, 0, -1, 1), 1.0),)), "width and height must be >= 0"),
    (FrameResults(faces=(Face(-1, (0, 0, 1, 1), 1.0),)), "track_id"),
    (FrameResults(frame_index=-1), "frame_index"),
    (FrameResults(hands_age=math.inf), "hands_age"),
])
def test_encoder_refuses_instead_of_truncating(res, match):
    with pytest.raises(ResultsError, match=match):
        encode(res)


def _patched(data, offset, fmt, value):
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


H = R._HEADER.size
HAND0 = H                         # handedness byte of hand 0
GESTURE0 = H + 2 * R._HAND.size   # name length byte of gesture 0


@pytest.mark.parametrize("mutate,match", [
    (lambda d: b"XXXX" + d[4:], "not a FaceFX results record"),
    (lambda d: _patched(d, 4, "<H", 1), "version 1 is not supported; expected version 2"),
    (lambda d: _patched(d, 6, "<H", 6), "unknown flags 0x6"),
    (lambda d: _patched(d, 35, "<B", 9), "9 heads, expected at most 8"),
    (lambda d: _patched(d, len(d) - 4, "<f", -0.5), "head 0 box size"),
    (lambda d: _patched(d, len(d) - 16, "<f", math.inf), "head 0 box is inf"),
    (lambda d: _patched(d, 8, "<I", R.MAX_ENCODED_SIZE + 1), "corrupt results record: size"),
    (lambda d: _patched(d, 8, "<I", 3), "corrupt results record: size 3"),
    (lambda d: _patched(d, 8, "<I", len(d) + 4) + b"\0\0\0\0", "bytes left over"),
    (lambda d: d[:-1], "truncated: header says"),
    (lambda d: d[:10], "truncated: 10 bytes"),
    (lambda d: _patched(d, 32, "<B", 5), "5 hands, expected at most 4"),
    (lambda d: _patched(d, 33, "<B", 200), "200 gestures"),
    (lambda d: _patched(d, 34, "<B", 9), "9 faces"),
    (lambda d: _patched(d, 24, "<f", -1.0), "hands_age is -1.0"),
    (lambda d: _patched(d, HAND0, "<B", 2), "handedness code 2"),
    (lambda d: _patched(d, HAND0 + 4, "<f", 2.0), "hand 0 score is 2.0"),
    (lambda d: _patched(d, HAND0 + 8, "<f", math.nan), "hand 0 landmark coordinate is nan"),
    (lambda d: _patched(d, HAND0 + 8, "<f", 1e9), "hand 0 landmark coordinate"),
    (lambda d: _patched(d, GESTURE0, "<B", 0), "gesture 0 name length 0"),
    (lambda d: _patched(d, GESTURE0, "<B", 65), "gesture 0 name length 65"),
    (lambda d: _patched(d, GESTURE0 + 1, "<B", 0xFF), "not valid UTF-8"),
    (lambda d: _patched(d, GESTURE0 + 1 + 11 + 4, "<B", 3), "names 3 hands"),
    (lambda d: _patched(d, GESTURE0 + 1 + 11 + 4 + 1, "<B", 2), r"names hands \(2, 1\), the frame has 2"),
])
def test_decoder_rejects_corrupt_records(mutate, match):
    data = encode(FULL)
    with pytest.raises(ResultsError, match=match):
        decode(mutate(data))


def test_face_landmark_count_over_capacity_is_rejected():
    data = bytearray(encode(FrameResults(faces=(_face(0, 2),))))
    struct.pack_into("<H", data, H + R._FACE_HEAD.size, R.MAX_FACE_LANDMARKS + 1)
    with pytest.raises(ResultsError, match="479 landmarks, expected at most 478"):
        decode(bytes(data))


def test_every_truncation_is_reported_never_read_short():
    data = encode(FULL)
    for n in range(len(data)):
        cut = bytearray(data[:n])
        if n >= 12:   # also claim the shorter size, so each field's own bounds check is exercised
            struct.pack_into("<I", cut, 8, n)
        with pytest.raises(ResultsError):
            decode(bytes(cut))
