"""The big countdown: plain Digits when cramped, solid strokes that fit when there is room."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from treadcoach.tui.widgets.countdown import GlyphScale, fit_scale, scaled_lines


def test_three_rows_is_plain_digits() -> None:
    assert fit_scale("02:05", 80, 3) is None


def test_more_room_means_bigger_digits() -> None:
    small = fit_scale("02:05", 80, 13)
    large = fit_scale("02:05", 156, 35)
    assert small is not None
    assert large is not None
    assert large.cell_h > small.cell_h


@given(
    st.text(alphabet="0123456789:", min_size=1, max_size=8),
    st.integers(min_value=0, max_value=250),
    st.integers(min_value=0, max_value=80),
)
def test_scaled_digits_always_fit_their_box(value: str, width: int, height: int) -> None:
    scale = fit_scale(value, width, height)
    if scale is None:
        return
    lines = scaled_lines(value, scale)
    assert len(lines) <= height
    assert all(len(line) <= width for line in lines)


def test_a_one_is_one_vertical_stroke_and_a_zero_is_a_closed_loop() -> None:
    scale = GlyphScale.of(2)
    one = [line for line in scaled_lines("1", scale) if line.strip()]
    # the stem: the same columns inked on every row between the serifs
    stems = {line.index("█", 2) if line.count("█") < 6 else -1 for line in one[1:-1]}
    assert len(stems) == 1
    zero = [line for line in scaled_lines("0", scale) if line.strip()]
    assert zero[0].strip() == "█" * len(zero[0].strip())
    assert zero[-1].strip() == zero[0].strip()
    assert all(line.strip().startswith("██") and line.strip().endswith("██") for line in zero)


def test_letters_outside_the_digit_font_fall_back_to_plain_digits() -> None:
    assert fit_scale("12m", 200, 60) is None
