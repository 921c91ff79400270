"""Pictures for the demo listings, drawn with Pillow (no downloads): each kind of item is a
simple drawing of the thing itself on a studio backdrop, so a card reads as what it sells."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from functools import cache

from PIL import Image, ImageDraw, ImageFilter
from werkzeug.datastructures import FileStorage

W, H = 800, 600
SCALE = 2  # drawn twice as large, then scaled down: smooth edges
FLOOR_Y = 430
ZOOM = 1.15
K = SCALE * ZOOM


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def shade(color: str, amount: float) -> tuple[int, int, int]:
    """Lighter (amount > 0) or darker (amount < 0) version of a #rrggbb colour."""
    r, g, b = _rgb(color)
    if amount >= 0:
        return tuple(int(c + (255 - c) * amount) for c in (r, g, b))  # type: ignore[return-value]
    return tuple(int(c * (1 + amount)) for c in (r, g, b))  # type: ignore[return-value]


class Pen:
    """ImageDraw in 800x600 coordinates on a canvas SCALE times larger."""

    def __init__(self, draw: ImageDraw.ImageDraw):
        self.draw = draw

    @staticmethod
    def _xy(x, y):
        # Zoomed about the middle of the floor line, so the object fills the frame and stands
        # on the floor.
        return ((400 + (x - 400) * ZOOM) * SCALE, (FLOOR_Y + (y - FLOOR_Y) * ZOOM) * SCALE)

    def _pts(self, points):
        return [self._xy(x, y) for x, y in points]

    def _box(self, box):
        x0, y0 = self._xy(box[0], box[1])
        x1, y1 = self._xy(box[2], box[3])
        return [x0, y0, x1, y1]

    def rect(self, box, fill=None, outline=None, width=0, radius=0):
        self.draw.rounded_rectangle(
            self._box(box),
            radius=round(radius * K),
            fill=fill,
            outline=outline,
            width=round(width * K),
        )

    def ellipse(self, box, fill=None, outline=None, width=0):
        self.draw.ellipse(self._box(box), fill=fill, outline=outline, width=round(width * K))

    def circle(self, cx, cy, r, **kwargs):
        self.ellipse([cx - r, cy - r, cx + r, cy + r], **kwargs)

    def line(self, points, fill, width):
        self.draw.line(self._pts(points), fill=fill, width=round(width * K), joint="curve")

    def polygon(self, points, fill=None, outline=None, width=0):
        self.draw.polygon(self._pts(points), fill=fill, outline=outline, width=round(width * K))

    def arc(self, box, start, end, fill, width):
        self.draw.arc(self._box(box), start, end, fill=fill, width=round(width * K))

    def pie(self, box, start, end, fill):
        self.draw.pieslice(self._box(box), start, end, fill=fill)


INK = (40, 40, 44)
METAL = (170, 174, 180)
WOOD = "#a9733f"


def bike(p: Pen, c: str) -> None:
    for cx in (240, 560):
        p.circle(cx, 350, 95, outline=INK, width=12)
        p.circle(cx, 350, 8, fill=INK)
    frame = shade(c, -0.1)
    p.line([(240, 350), (360, 350), (500, 230), (330, 230), (240, 350)], frame, 14)
    p.line([(360, 350), (310, 200)], frame, 14)
    p.line([(500, 230), (560, 350)], frame, 14)
    p.line([(500, 230), (515, 180), (560, 175)], INK, 10)
    p.rect([275, 188, 350, 204], fill=INK, radius=8)


def lamp(p: Pen, c: str) -> None:
    p.ellipse([320, 400, 480, 440], fill=shade(c, -0.3))
    p.line([(400, 420), (400, 250)], METAL, 12)
    p.polygon(
        [(320, 250), (480, 250), (440, 130), (360, 130)], fill=c, outline=shade(c, -0.3), width=4
    )
    p.ellipse([360, 240, 440, 262], fill=(255, 236, 170))


def chair(p: Pen, c: str) -> None:
    wood = shade(c, -0.2)
    p.rect([300, 120, 500, 280], fill=c, radius=18)
    p.rect([280, 280, 520, 320], fill=wood, radius=8)
    for x in (295, 495):
        p.line([(x, 320), (x - 5 if x < 400 else x + 5, 430)], wood, 16)
    for x in (330, 470):
        p.line([(x, 320), (x, 410)], shade(c, -0.35), 12)


def side_table(p: Pen, c: str) -> None:
    p.rect([250, 230, 550, 262], fill=WOOD, radius=6)
    p.rect([280, 262, 520, 300], fill=shade(WOOD, -0.15), radius=4)
    p.circle(400, 281, 7, fill=INK)
    for x in (275, 510):
        p.rect([x, 300, x + 16, 430], fill=shade(WOOD, -0.25))
    p.rect([330, 170, 370, 230], fill=c, radius=6)  # a small vase on top


def skillet(p: Pen, c: str) -> None:
    p.ellipse([200, 230, 520, 400], fill=(55, 55, 58))
    p.ellipse([225, 245, 495, 380], fill=(80, 80, 84))
    p.polygon([(505, 300), (660, 275), (668, 300), (510, 325)], fill=(55, 55, 58))
    p.circle(640, 290, 7, fill=shade(c, 0.5))


def planter(p: Pen, c: str) -> None:
    leaf = (64, 140, 72)
    for x in (300, 400, 500):
        for dx, dy in ((-30, -40), (25, -60), (-5, -95), (30, -20)):
            p.ellipse([x + dx - 22, 230 + dy - 12, x + dx + 22, 230 + dy + 12], fill=leaf)
        p.line([(x, 300), (x, 170)], shade("#408c48", -0.2), 5)
        p.polygon([(x - 45, 270), (x + 45, 270), (x + 32, 400), (x - 32, 400)], fill=c)
        p.rect([x - 50, 262, x + 50, 282], fill=shade(c, -0.2), radius=4)


def mug(p: Pen, c: str) -> None:
    p.arc([440, 240, 540, 350], -90, 90, shade(c, -0.2), 18)
    p.rect([290, 200, 470, 400], fill=c, radius=22)
    p.ellipse([290, 190, 470, 225], fill=shade(c, -0.3))
    for x in (350, 380, 410):
        p.arc([x - 10, 100, x + 10, 180], 100, 260, (210, 210, 210), 4)


def speaker(p: Pen, c: str) -> None:
    p.rect([290, 120, 510, 420], fill=c, radius=30)
    p.circle(400, 330, 62, fill=shade(c, -0.45))
    p.circle(400, 330, 22, fill=shade(c, -0.2))
    p.circle(400, 200, 34, fill=shade(c, -0.45))
    p.circle(400, 200, 10, fill=shade(c, -0.2))


def headphones(p: Pen, c: str) -> None:
    p.arc([260, 110, 540, 390], 190, 350, shade(c, -0.3), 22)
    for x in (255, 485):
        p.rect([x, 250, x + 60, 380], fill=c, radius=26)
        p.rect(
            [x + (40 if x < 400 else -10), 265, x + (70 if x < 400 else 20), 365],
            fill=INK,
            radius=10,
        )


def camera(p: Pen, c: str) -> None:
    p.rect([250, 200, 550, 390], fill=INK, radius=18)
    p.rect([250, 245, 550, 345], fill=c)
    p.rect([330, 160, 430, 205], fill=INK, radius=8)
    p.circle(400, 295, 78, fill=METAL)
    p.circle(400, 295, 58, fill=INK)
    p.circle(400, 295, 30, fill=(60, 90, 130))
    p.circle(385, 280, 8, fill=(200, 220, 240))
    p.rect([490, 180, 525, 200], fill=METAL, radius=4)


def turntable(p: Pen, c: str) -> None:
    p.polygon([(180, 330), (620, 330), (660, 420), (140, 420)], fill=shade(WOOD, -0.1))
    p.polygon([(180, 300), (620, 300), (620, 330), (180, 330)], fill=shade(WOOD, -0.3))
    p.ellipse([220, 270, 520, 370], fill=INK)
    p.ellipse([330, 305, 410, 335], fill=c)
    p.line([(590, 290), (560, 340), (470, 330)], METAL, 8)
    p.circle(590, 290, 14, fill=METAL)


def keyboard(p: Pen, c: str) -> None:
    p.polygon([(150, 380), (650, 380), (610, 250), (190, 250)], fill=shade(c, -0.4))
    for row in range(4):
        y = 262 + row * 29
        inset = (3 - row) * 9
        for k in range(13):
            x = 190 + inset - row * 9 + k * 33 + row * 6
            p.rect([x, y, x + 26, y + 22], fill=(240, 240, 236), radius=4)


def jacket(p: Pen, c: str) -> None:
    body = [
        (300, 140),
        (500, 140),
        (610, 200),
        (580, 330),
        (530, 310),
        (530, 440),
        (270, 440),
        (270, 310),
        (220, 330),
        (190, 200),
    ]
    p.polygon(body, fill=c, outline=shade(c, -0.35), width=4)
    p.polygon([(350, 140), (400, 230), (450, 140)], fill=shade(c, -0.35))
    p.line([(400, 230), (400, 440)], shade(c, -0.35), 4)
    for y in (270, 320, 370, 410):
        p.circle(412, y, 7, fill=(205, 170, 90))
    for x in (310, 450):
        p.rect([x, 330, x + 45, 370], outline=shade(c, -0.35), width=4, radius=4)


def boots(p: Pen, c: str) -> None:
    leather = shade(c, -0.35)
    for dx in (0, 190):
        x = 190 + dx
        p.polygon(
            [(x, 150), (x + 90, 150), (x + 95, 340), (x + 190, 370), (x + 190, 420), (x, 420)],
            fill=leather,
        )
        p.rect([x - 5, 410, x + 195, 432], fill=INK, radius=6)
        for y in (190, 230, 270, 310):
            p.line([(x + 30, y), (x + 80, y + 12)], (235, 225, 200), 4)


def backpack(p: Pen, c: str) -> None:
    p.rect([280, 140, 520, 430], fill=c, radius=60)
    p.rect([300, 140, 500, 260], fill=shade(c, -0.2), radius=50)
    p.rect([320, 300, 480, 400], fill=shade(c, -0.15), radius=20)
    p.rect([385, 230, 415, 270], fill=(210, 180, 100), radius=4)
    p.arc([350, 90, 450, 180], 180, 360, shade(c, -0.4), 10)


def scarf(p: Pen, c: str) -> None:
    colors = [c, shade(c, 0.5), shade(c, -0.3)]
    for i in range(9):
        p.polygon(
            [(230 + i * 40, 150), (270 + i * 40, 150), (300 + i * 30, 400), (260 + i * 30, 400)],
            fill=colors[i % 3],
        )
    for i in range(14):
        x = 262 + i * 19
        p.line([(x, 400), (x + 2, 440)], colors[0], 4)


def books(p: Pen, c: str) -> None:
    palette = [c, shade(c, -0.3), "#d9c7a1", shade(c, 0.35), "#5b6b7a"]
    y = 430
    for i, (w, h) in enumerate([(340, 48), (310, 40), (330, 52), (290, 36), (320, 46)]):
        x = 400 - w / 2 + (i % 2) * 14 - 7
        p.rect([x, y - h, x + w, y], fill=palette[i % 5], radius=4)
        p.rect([x + 18, y - h + 10, x + 24, y - 10], fill=(240, 230, 200))
        y -= h + 2


def records(p: Pen, c: str) -> None:
    p.rect([210, 250, 590, 430], fill=shade(WOOD, -0.1), radius=6)
    for i in range(5):
        x = 250 + i * 60
        p.rect([x, 150 + i * 6, x + 190, 340], fill=[c, "#333333", shade(c, 0.4)][i % 3], radius=3)
    p.circle(470, 220, 85, fill=INK)
    p.circle(470, 220, 28, fill=shade(c, 0.3))
    p.rect([210, 330, 590, 430], fill=shade(WOOD, -0.2), radius=6)


def tent(p: Pen, c: str) -> None:
    p.polygon([(160, 420), (400, 140), (640, 420)], fill=c)
    p.polygon([(400, 140), (640, 420), (540, 420)], fill=shade(c, -0.25))
    p.polygon([(340, 420), (400, 250), (460, 420)], fill=shade(c, -0.5))
    p.line([(400, 140), (400, 110)], INK, 6)


def racket(p: Pen, c: str) -> None:
    p.ellipse([260, 90, 500, 370], outline=c, width=16)
    for i in range(1, 8):
        x = 260 + i * 30
        p.line([(x, 100 + abs(4 - i) * 6), (x, 360 - abs(4 - i) * 6)], (235, 235, 235), 3)
        y = 90 + i * 35
        p.line([(270 + abs(4 - i) * 5, y), (490 - abs(4 - i) * 5, y)], (235, 235, 235), 3)
    p.line([(380, 365), (380, 420)], c, 16)
    p.rect([366, 410, 394, 520], fill=INK, radius=10)


def helmet(p: Pen, c: str) -> None:
    p.pie([220, 160, 580, 520], 180, 360, c)
    p.rect([210, 330, 590, 352], fill=shade(c, -0.35), radius=10)
    for x in (300, 370, 440, 510):
        p.rect([x - 14, 210, x + 14, 290], fill=shade(c, -0.3), radius=12)


def yoga_mat(p: Pen, c: str) -> None:
    p.rect([220, 290, 560, 410], fill=c, radius=10)
    p.ellipse([520, 290, 600, 410], fill=shade(c, -0.2))
    p.ellipse([540, 318, 580, 382], fill=shade(c, -0.45))
    p.line([(300, 290), (300, 410)], INK, 6)
    p.line([(480, 290), (480, 410)], INK, 6)


def chess(p: Pen, c: str) -> None:
    p.polygon([(170, 330), (630, 330), (700, 440), (100, 440)], fill=(235, 225, 200))
    for row in range(4):
        for col in range(8):
            if (row + col) % 2:
                t0, t1 = row / 4, (row + 1) / 4
                xl0, xr0 = 170 - 70 * t0, 630 + 70 * t0
                xl1, xr1 = 170 - 70 * t1, 630 + 70 * t1
                a0, b0 = xl0 + (xr0 - xl0) * col / 8, xl0 + (xr0 - xl0) * (col + 1) / 8
                a1, b1 = xl1 + (xr1 - xl1) * col / 8, xl1 + (xr1 - xl1) * (col + 1) / 8
                p.polygon(
                    [
                        (a0, 330 + 27.5 * row),
                        (b0, 330 + 27.5 * row),
                        (b1, 357.5 + 27.5 * row),
                        (a1, 357.5 + 27.5 * row),
                    ],
                    fill=shade(c, -0.4),
                )
    for x, tall in ((330, 1), (470, 0)):
        top = 150 if tall else 210
        p.polygon([(x - 40, 390), (x + 40, 390), (x + 18, top + 60), (x - 18, top + 60)], fill=INK)
        p.circle(x, top + 40, 30, fill=INK)
        p.rect([x - 48, 380, x + 48, 400], fill=INK, radius=6)


def blocks(p: Pen, c: str) -> None:
    colors = [c, "#e4b43c", "#3f7fc1", "#d9534f", "#4aa564"]
    spots = [(230, 330), (350, 330), (470, 330), (290, 210), (410, 210), (350, 90)]
    for i, (x, y) in enumerate(spots):
        p.rect([x, y, x + 110, y + 110], fill=colors[i % 5], radius=8)
        p.circle(x + 55, y + 55, 22, outline=(255, 255, 255), width=5)


def kite(p: Pen, c: str) -> None:
    p.polygon([(400, 70), (520, 200), (400, 380), (280, 200)], fill=c)
    p.polygon([(400, 70), (520, 200), (400, 200)], fill=shade(c, 0.35))
    p.polygon([(400, 200), (280, 200), (400, 380)], fill=shade(c, -0.25))
    p.line([(400, 380), (380, 420), (420, 460), (390, 500), (410, 540)], INK, 3)
    for x, y in ((381, 420), (419, 460), (391, 500)):
        p.polygon([(x - 14, y - 8), (x + 14, y - 8), (x, y + 10)], fill=shade(c, -0.3))


def train(p: Pen, c: str) -> None:
    p.rect([150, 330, 650, 345], fill=WOOD)
    p.rect([170, 240, 380, 330], fill=c, radius=8)
    p.rect([300, 170, 380, 240], fill=shade(c, -0.25), radius=6)
    p.rect([200, 200, 235, 240], fill=INK, radius=4)
    p.rect([420, 250, 630, 330], fill="#e4b43c", radius=8)
    for x in (210, 290, 350, 460, 590):
        p.circle(x, 345, 28, fill=INK)
        p.circle(x, 345, 10, fill=METAL)


def drill(p: Pen, c: str) -> None:
    p.rect([230, 170, 500, 260], fill=c, radius=40)
    p.rect([500, 195, 560, 235], fill=INK, radius=8)
    p.line([(560, 215), (650, 215)], METAL, 10)
    p.polygon([(330, 250), (410, 250), (390, 390), (320, 390)], fill=shade(c, -0.3))
    p.rect([280, 380, 440, 440], fill=INK, radius=12)
    p.rect([400, 255, 420, 290], fill=INK, radius=4)


def ladder(p: Pen, c: str) -> None:
    p.line([(330, 110), (250, 440)], METAL, 18)
    p.line([(470, 110), (550, 440)], METAL, 18)
    p.line([(400, 110), (440, 440)], shade("#aab0b8", -0.3), 12)
    for i in range(1, 6):
        t = i / 6
        x0, x1 = 330 - 80 * t, 470 + 80 * t
        p.line([(x0, 110 + 330 * t), (x1, 110 + 330 * t)], c, 14)
    p.rect([315, 95, 485, 125], fill=c, radius=6)


def toolbox(p: Pen, c: str) -> None:
    p.rect([220, 250, 580, 430], fill=c, radius=14)
    p.rect([220, 250, 580, 300], fill=shade(c, -0.25), radius=14)
    p.rect([380, 285, 420, 315], fill=METAL, radius=4)
    p.arc([310, 170, 490, 290], 180, 360, INK, 14)
    p.line([(480, 180), (610, 150)], METAL, 14)  # a spanner on top
    p.circle(620, 148, 22, fill=METAL)


def vase(p: Pen, c: str) -> None:
    p.polygon(
        [
            (360, 120),
            (440, 120),
            (430, 170),
            (500, 260),
            (490, 360),
            (450, 430),
            (350, 430),
            (310, 360),
            (300, 260),
            (370, 170),
        ],
        fill=c,
    )
    p.polygon(
        [
            (360, 120),
            (380, 120),
            (390, 170),
            (330, 260),
            (335, 360),
            (350, 430),
            (330, 430),
            (310, 360),
            (300, 260),
            (370, 170),
        ],
        fill=shade(c, 0.25),
    )
    p.line([(315, 290), (485, 290)], shade(c, -0.3), 6)
    p.ellipse([355, 112, 445, 132], fill=shade(c, -0.4))


def compass(p: Pen, c: str) -> None:
    brass = (196, 160, 82)
    p.circle(400, 280, 150, fill=brass)
    p.circle(400, 280, 125, fill=(245, 240, 225))
    p.circle(400, 120, 18, outline=brass, width=8)
    for a in range(0, 360, 30):
        r0, r1 = (100, 122) if a % 90 else (88, 122)
        x0, y0 = 400 + r0 * math.sin(math.radians(a)), 280 - r0 * math.cos(math.radians(a))
        x1, y1 = 400 + r1 * math.sin(math.radians(a)), 280 - r1 * math.cos(math.radians(a))
        p.line([(x0, y0), (x1, y1)], INK, 4)
    p.polygon([(400, 185), (418, 280), (382, 280)], fill=c)
    p.polygon([(400, 375), (418, 280), (382, 280)], fill=INK)
    p.circle(400, 280, 9, fill=brass)


def art_print(p: Pen, c: str) -> None:
    p.rect([230, 100, 570, 430], fill=(60, 50, 40))
    p.rect([250, 120, 550, 410], fill=(245, 242, 232))
    p.rect([280, 150, 520, 380], fill=shade(c, 0.6))
    p.circle(460, 200, 26, fill="#e4b43c")
    p.polygon([(280, 380), (360, 250), (420, 330), (460, 280), (520, 380)], fill=c)
    p.polygon([(360, 250), (385, 290), (340, 290)], fill=(250, 250, 250))


def globe(p: Pen, c: str) -> None:
    p.rect([340, 410, 460, 432], fill=WOOD, radius=6)
    p.line([(400, 410), (400, 380)], WOOD, 14)
    p.arc([230, 80, 570, 420], 200, 100, METAL, 10)
    p.circle(400, 250, 140, fill=(90, 150, 210))
    land = (96, 160, 90)
    p.polygon([(320, 170), (390, 150), (410, 210), (360, 260), (330, 230)], fill=land)
    p.polygon([(420, 260), (490, 240), (500, 320), (450, 360), (430, 320)], fill=land)
    p.arc([260, 110, 540, 390], 0, 360, shade("#5a96d2", -0.3), 3)
    p.arc([330, 110, 470, 390], 0, 360, shade("#5a96d2", -0.3), 3)


def umbrella(p: Pen, c: str) -> None:
    p.pie([200, 120, 600, 400], 180, 360, c)
    for x in (267, 333, 400, 467, 533):
        p.line([(400, 125), (x, 260)], shade(c, -0.3), 3)
    for x in (200, 267, 333, 400, 467):
        p.pie([x, 235, x + 67, 285], 0, 180, (238, 238, 234))
    p.line([(400, 260), (400, 430)], INK, 8)
    p.arc([400, 400, 450, 460], 0, 180, INK, 8)


def sewing_machine(p: Pen, c: str) -> None:
    p.rect([200, 380, 600, 430], fill=shade(c, -0.3), radius=8)
    p.rect([230, 330, 330, 380], fill=c, radius=8)
    p.rect([230, 180, 570, 250], fill=c, radius=30)
    p.rect([480, 180, 570, 380], fill=c, radius=24)
    p.rect([250, 250, 275, 330], fill=METAL)
    p.line([(262, 330), (262, 360)], INK, 4)
    p.circle(585, 215, 30, fill=METAL)
    p.rect([300, 200, 440, 225], fill=(240, 228, 190), radius=8)


def typewriter(p: Pen, c: str) -> None:
    p.rect([220, 160, 580, 190], fill=INK, radius=14)
    p.rect([300, 120, 500, 170], fill=(245, 242, 232))
    p.polygon([(230, 190), (570, 190), (620, 400), (180, 400)], fill=c)
    for row in range(3):
        for k in range(9 - row):
            x = 250 + row * 20 + k * 36
            p.circle(x + 14, 290 + row * 36, 13, fill=INK)
            p.circle(x + 14, 290 + row * 36, 8, fill=(235, 235, 235))
    p.rect([300, 380, 500, 398], fill=INK, radius=8)


def basket(p: Pen, c: str) -> None:
    straw = (200, 160, 100)
    p.arc([280, 110, 520, 330], 180, 360, shade("#c8a064", -0.3), 14)
    p.polygon([(220, 250), (580, 250), (550, 430), (250, 430)], fill=straw)
    for y in range(270, 430, 30):
        p.line([(230, y), (570, y)], shade("#c8a064", -0.2), 4)
    p.polygon([(220, 240), (580, 240), (580, 300), (220, 300)], fill=c)
    for x in range(220, 580, 40):
        p.rect([x, 240, x + 20, 270], fill=(250, 250, 250))
        p.rect([x + 20, 270, x + 40, 300], fill=(250, 250, 250))


def bike_light(p: Pen, c: str) -> None:
    for x, glow in ((280, (255, 245, 200)), (520, (230, 60, 60))):
        p.circle(x, 260, 110, fill=shade("#ffffff", -0.02) if glow[0] > 240 else (250, 225, 225))
        p.rect([x - 60, 200, x + 60, 330], fill=c, radius=30)
        p.circle(x, 250, 36, fill=glow)
        p.rect([x - 18, 330, x + 18, 400], fill=INK, radius=6)


def roof_box(p: Pen, c: str) -> None:
    p.rect([150, 330, 650, 345], fill=INK, radius=6)
    for x in (230, 570):
        p.rect([x - 10, 345, x + 10, 420], fill=INK)
    p.polygon([(150, 330), (200, 240), (600, 230), (660, 290), (650, 330)], fill=c)
    p.polygon([(200, 240), (600, 230), (620, 250), (215, 262)], fill=shade(c, 0.3))
    p.rect([380, 285, 440, 300], fill=METAL, radius=4)


def pump(p: Pen, c: str) -> None:
    p.rect([230, 410, 570, 432], fill=INK, radius=8)
    p.rect([370, 150, 430, 410], fill=c, radius=12)
    p.line([(400, 150), (400, 100)], METAL, 10)
    p.rect([300, 85, 500, 110], fill=INK, radius=10)
    p.circle(400, 250, 34, fill=(245, 245, 240))
    p.line([(400, 250), (420, 232)], INK, 4)
    p.line([(430, 390), (520, 380), (560, 300)], INK, 8)


DRAWINGS: dict[str, Callable[[Pen, str], None]] = {
    f.__name__: f
    for f in (
        bike, lamp, chair, side_table, skillet, planter, mug, speaker, headphones, camera,
        turntable, keyboard, jacket, boots, backpack, scarf, books, records, tent, racket,
        helmet, yoga_mat, chess, blocks, kite, train, drill, ladder, toolbox, vase, compass,
        art_print, globe, umbrella, sewing_machine, typewriter, basket, bike_light, roof_box,
        pump,
    )
}  # fmt: skip

BACKDROPS = ["#f3efe7", "#eef2f3", "#f5ece6", "#eef0e8", "#f1edf4", "#f4f1ea"]


@cache
def _backdrop(wall: str) -> Image.Image:
    """The wall, darkening a little towards the floor, the floor and the object's soft shadow."""
    size = (W * SCALE, H * SCALE)
    top, bottom = shade(wall, 0.25), shade(wall, 0.08)
    gradient = Image.linear_gradient("L").resize((size[0], FLOOR_Y * SCALE))
    image = Image.new("RGB", size, shade(wall, -0.08))
    image.paste(
        Image.composite(
            Image.new("RGB", gradient.size, bottom), Image.new("RGB", gradient.size, top), gradient
        ),
        (0, 0),
    )
    shadow = Image.new("L", (W // 4, H // 4), 0)
    ImageDraw.Draw(shadow).ellipse(
        [190 // 4, (FLOOR_Y - 12) // 4, 610 // 4, (FLOOR_Y + 30) // 4], fill=90
    )
    shadow = shadow.filter(ImageFilter.GaussianBlur(4)).resize(size, Image.Resampling.BILINEAR)
    image.paste((90, 84, 76), mask=shadow)
    return image


def picture(drawing: str, color: str, rng: random.Random) -> FileStorage:
    """An 800x600 JPEG of `drawing` in `color` on a wall-and-floor backdrop with a soft shadow."""
    image = _backdrop(rng.choice(BACKDROPS)).copy()
    DRAWINGS[drawing](Pen(ImageDraw.Draw(image)), color)
    image = image.reduce(SCALE)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=86)
    buffer.seek(0)
    return FileStorage(stream=buffer, filename="photo.jpg", content_type="image/jpeg")
