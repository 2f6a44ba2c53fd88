"""The touch VM's touch screen (tests/touch_vm/guest.sh): a multi-touch, direct (on the screen)
input device made through uinput, as a kiosk's USB touch panel shows up to the kernel: libinput
gives its touches to the compositor as touch events, not pointer motion.

    touchscreen.py          reads "FX FY" lines (fractions of the screen, 0..1), taps there (one
                            finger down, 50 ms, up) and answers "tapped X Y" (device units);
                            prints "ready DEVICE" first
    touchscreen.py --size TTY
                            prints the terminal TTY's size: "ROWS COLS XPIXEL YPIXEL"
"""

import fcntl
import struct
import sys
import termios
import time

SPAN = 4096  # device units on each axis; libinput maps them onto the whole output


def size(tty):
    with open(tty, "rb", buffering=0) as f:
        rows, cols, xpixel, ypixel = struct.unpack(
            "HHHH", fcntl.ioctl(f.fileno(), termios.TIOCGWINSZ, bytes(8))
        )
    print(rows, cols, xpixel, ypixel, flush=True)


def serve():
    from evdev import AbsInfo, UInput, ecodes as e

    axis = AbsInfo(value=0, min=0, max=SPAN - 1, fuzz=0, flat=0, resolution=16)
    caps = {
        e.EV_KEY: [e.BTN_TOUCH],
        e.EV_ABS: [
            (e.ABS_X, axis),
            (e.ABS_Y, axis),
            (e.ABS_MT_SLOT, AbsInfo(0, 0, 9, 0, 0, 0)),
            (e.ABS_MT_TRACKING_ID, AbsInfo(0, 0, 65535, 0, 0, 0)),
            (e.ABS_MT_POSITION_X, axis),
            (e.ABS_MT_POSITION_Y, axis),
        ],
    }
    ui = UInput(caps, name="shelftalk test touch screen", input_props=[e.INPUT_PROP_DIRECT])
    print("ready", ui.device.path, flush=True)
    tracking = 0
    for line in sys.stdin:
        fx, fy = map(float, line.split())
        x = min(SPAN - 1, max(0, round(fx * (SPAN - 1))))
        y = min(SPAN - 1, max(0, round(fy * (SPAN - 1))))
        tracking += 1
        ui.write(e.EV_ABS, e.ABS_MT_SLOT, 0)
        ui.write(e.EV_ABS, e.ABS_MT_TRACKING_ID, tracking)
        ui.write(e.EV_ABS, e.ABS_MT_POSITION_X, x)
        ui.write(e.EV_ABS, e.ABS_MT_POSITION_Y, y)
        ui.write(e.EV_KEY, e.BTN_TOUCH, 1)
        ui.write(e.EV_ABS, e.ABS_X, x)
        ui.write(e.EV_ABS, e.ABS_Y, y)
        ui.syn()
        time.sleep(0.05)  # a finger's tap lasts a moment; a zero-length touch is not a tap
        ui.write(e.EV_ABS, e.ABS_MT_TRACKING_ID, -1)
        ui.write(e.EV_KEY, e.BTN_TOUCH, 0)
        ui.syn()
        print("tapped", x, y, flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--size"]:
        size(sys.argv[2])
    else:
        serve()
