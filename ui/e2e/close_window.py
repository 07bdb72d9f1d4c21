"""Asks the X11 window titled argv[1] to close, as a window manager's close button does
(a WM_DELETE_WINDOW client message), so the app sees a real close request."""
import sys

from Xlib import X, display, protocol


def main(title: str) -> int:
    d = display.Display()
    root = d.screen().root
    wm_protocols = d.intern_atom("WM_PROTOCOLS")
    wm_delete = d.intern_atom("WM_DELETE_WINDOW")
    sent = 0
    stack = [root]
    while stack:
        w = stack.pop()
        try:
            name = w.get_wm_name()
            children = w.query_tree().children
        except Exception:  # a window that went away while we looked
            continue
        stack.extend(children)
        if name == title:
            ev = protocol.event.ClientMessage(window=w, client_type=wm_protocols, data=(32, [wm_delete, X.CurrentTime, 0, 0, 0]))
            w.send_event(ev, event_mask=X.NoEventMask)
            sent += 1
    d.flush()
    return 0 if sent else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
