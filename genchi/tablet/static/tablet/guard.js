// Locked and hidden (C-S2.3), no output (C-S2.6, S9): idle lock, a veil when the app is
// hidden or loses focus, no copy, cut, drag, context menu or print of the app's content.

export function installGuards({ idleSeconds, onIdle }) {
  const body = document.body;
  let timer = null;
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(onIdle, idleSeconds * 1000);
  };
  for (const name of ["pointerdown", "keydown", "touchstart", "wheel"]) {
    document.addEventListener(name, restart, { passive: true, capture: true });
  }
  restart();

  const veil = (on) => body.classList.toggle("veiled", on);
  document.addEventListener("visibilitychange", () => veil(document.hidden));
  window.addEventListener("blur", () => veil(true));
  window.addEventListener("focus", () => veil(false));
  window.addEventListener("pagehide", () => veil(true));

  for (const name of ["copy", "cut", "dragstart", "contextmenu"]) {
    document.addEventListener(name, (event) => event.preventDefault(), { capture: true });
  }
  // Printing shows a blank page (tablet.css); the app is locked before it too.
  window.addEventListener("beforeprint", () => onIdle());
  return { restart };
}
