// The tablet's service worker (C-S2.5): it caches the app shell only — the page, its
// scripts, styles and words, Leaflet — and the offline base map of Japan (a static file
// with no personal data), so that the app and the route's map work offline. API answers
// and anything with personal data always go to the network and are never stored here;
// the map never calls a tile server.
// (SHELL_VERSION and SHELL_FILES are written above this line by the server.)

const CACHE = `genchi-tablet-shell-${SHELL_VERSION}`;
const SHELL = new Set(SHELL_FILES);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL_FILES))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((n) => n.startsWith("genchi-tablet-") && n !== CACHE).map((n) => caches.delete(n))),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!SHELL.has(url.pathname)) return; // not the shell: straight to the network, not kept
  // The shell: the network when it answers (a new version), the cache when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname)),
  );
});
