"""Turns a terminal capture with its escape codes (`tmux capture-pane -e -p`)
into a PNG, cell for cell: pyte (a VT100 emulator) reads the capture into a
grid, Pillow draws each cell at its place with DejaVu Sans Mono (Noto Sans
CJK for double-width characters), so columns line up as on a terminal.

usage: ansi2png.py CAPTURE.ans OUT.png COLUMNS ROWS TITLE
"""

import sys

import pyte
import pyte.graphics
from PIL import Image, ImageDraw, ImageFont

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
MONO_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CJK_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
CJK_SC = 2  # index of Simplified Chinese in the collection

SIZE = 15
CELL_W, CELL_H = 9, 19
PAD, TITLE_H = 14, 30

BACKGROUND = (22, 24, 29)
FOREGROUND = (215, 218, 224)
ANSI = {
    "black": (22, 24, 29), "red": (224, 96, 90), "green": (116, 196, 118),
    "brown": (230, 190, 90), "yellow": (230, 190, 90), "blue": (96, 150, 230),
    "magenta": (200, 120, 220), "cyan": (90, 190, 210), "white": (200, 204, 210),
    "brightblack": (110, 116, 128), "brightred": (250, 120, 110),
    "brightgreen": (140, 220, 140), "brightbrown": (250, 215, 110),
    "brightyellow": (250, 215, 110), "brightblue": (130, 180, 250),
    "brightmagenta": (225, 150, 240), "brightcyan": (120, 215, 235),
    "brightwhite": (245, 247, 250),
}


ORDER = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]
# tmux writes the 16 colours as 256-colour indices; pyte turns those into
# xterm's hex values: map them back to this palette.
INDEXED = {
    pyte.graphics.FG_BG_256[i]: ANSI[("bright" if i >= 8 else "") + ORDER[i % 8]]
    for i in range(16)
}


def colour(name: str, default):
    if name == "default":
        return default
    if name in ANSI:
        return ANSI[name]
    if name in INDEXED:
        return INDEXED[name]
    try:
        return tuple(int(name[i : i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return default


def blend(a, b, share: float):
    return tuple(round(x * (1 - share) + y * share) for x, y in zip(a, b))


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    columns, rows, title = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    screen = pyte.Screen(columns, rows)
    stream = pyte.Stream(screen)
    with open(source, encoding="utf-8") as f:
        lines = f.read().rstrip("\n").split("\n")
    for n, line in enumerate(lines[:rows]):
        stream.feed(line + ("\r\n" if n < rows - 1 else ""))

    fonts = {
        (False, False): ImageFont.truetype(MONO, SIZE),
        (True, False): ImageFont.truetype(MONO_BOLD, SIZE),
        (False, True): ImageFont.truetype(CJK, SIZE, index=CJK_SC),
        (True, True): ImageFont.truetype(CJK_BOLD, SIZE, index=CJK_SC),
    }
    width = columns * CELL_W + 2 * PAD
    height = rows * CELL_H + 2 * PAD + TITLE_H
    image = Image.new("RGB", (width, height), (12, 13, 16))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), 10, fill=BACKGROUND)
    for i, dot in enumerate([(237, 106, 94), (245, 191, 79), (98, 197, 84)]):
        draw.ellipse((PAD + i * 20, 10, PAD + i * 20 + 12, 22), fill=dot)
    draw.text((width // 2, 16), title, fill=(160, 166, 178), font=fonts[(True, False)], anchor="mm")

    for y in range(rows):
        line = screen.buffer[y]
        x = 0
        while x < columns:
            cell = line[x]
            wide = x + 1 < columns and line[x + 1].data == ""
            span = 2 if wide else 1
            fg = colour(cell.fg, FOREGROUND)
            bg = colour(cell.bg, BACKGROUND)
            if cell.reverse:
                fg, bg = bg, fg
            left = PAD + x * CELL_W
            top = PAD + TITLE_H + y * CELL_H
            box = (left, top, left + span * CELL_W - 1, top + CELL_H - 1)
            if bg != BACKGROUND:
                draw.rectangle(box, fill=bg)
            char = cell.data
            mid_x, mid_y = left + CELL_W // 2, top + CELL_H // 2
            if char == "█":
                draw.rectangle(box, fill=fg)
            elif char == "░":
                draw.rectangle(box, fill=blend(bg, fg, 0.22))
            elif char in "─━":
                draw.line((left, mid_y, left + CELL_W, mid_y), fill=fg)
            elif char in "│┃":
                draw.line((mid_x, top, mid_x, top + CELL_H), fill=fg)
            elif char in "┌┐└┘├┤┬┴┼":
                right = char in "┌└├┬┴┼"
                leftward = char in "┐┘┤┬┴┼"
                down = char in "┌┐├┤┬┼"
                up = char in "└┘├┤┴┼"
                if right:
                    draw.line((mid_x, mid_y, left + CELL_W, mid_y), fill=fg)
                if leftward:
                    draw.line((left, mid_y, mid_x, mid_y), fill=fg)
                if down:
                    draw.line((mid_x, mid_y, mid_x, top + CELL_H), fill=fg)
                if up:
                    draw.line((mid_x, top, mid_x, mid_y), fill=fg)
            elif char.strip():
                font = fonts[(bool(cell.bold), wide)]
                draw.text((left + span * CELL_W / 2, mid_y), char, fill=fg, font=font, anchor="mm")
            if cell.underscore:
                draw.line((left, top + CELL_H - 3, left + span * CELL_W, top + CELL_H - 3), fill=fg)
            x += span
    image.save(target, optimize=True)


if __name__ == "__main__":
    main()
