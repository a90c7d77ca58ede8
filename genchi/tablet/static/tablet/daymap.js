// The map of today's route (issue 16 item 9), drawn with the Leaflet shipped in Genchi over
// the office's offline base map (geo/map.js: the outline of Japan and the municipalities'
// names, geo/japan.geojson). No tile server, ever: the base map is a static file the
// service worker keeps, and the stops come from the decrypted cases in memory. Nothing
// of the stops is written anywhere: the map is dropped with the screen and on lock.
// Leaflet is loaded on first use (classic scripts, not modules) so the cold start to
// the PIN screen does not pay for it.

let loading = null;
let current = null;

function addScript(src) {
  return new Promise((ok, fail) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = ok;
    script.onerror = () => fail(new Error(`script ${src}`));
    document.head.append(script);
  });
}

function addStyle(href) {
  return new Promise((ok, fail) => {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.onload = ok;
    link.onerror = () => fail(new Error(`style ${href}`));
    document.head.append(link);
  });
}

// Leaflet, its style and the office's base map script, once per page.
function loadLeaflet(urls) {
  if (!loading) {
    loading = Promise.all([addStyle(urls.leafletCss), addStyle(urls.basemapCss)])
      .then(() => addScript(urls.leaflet))
      .then(() => addScript(urls.basemapJs))
      .then(() => window.L);
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

function where(c) {
  if (c.lat == null || c.lng == null || c.lat === "" || c.lng === "") return null;
  const lat = Number(c.lat);
  const lng = Number(c.lng);
  if (!Number.isFinite(lat) || !Number.isFinite(lng)) return null;
  return [lat, lng];
}

/** The stops of the route that have a position, in order: {order, ref, at, item}. */
export function placedStops(route) {
  return route
    .map((item) => ({ order: item.order, ref: item.case.ref, at: where(item.case), item }))
    .filter((s) => s.at);
}

/** Drop the map (another screen, the lock): Leaflet's listeners and layers go with it. */
export function removeDayMap() {
  if (current) {
    current.remove();
    current = null;
  }
}

/**
 * Draw the route on `el`: numbered markers in route order (48 px, a tap opens the case),
 * the line between them, and the surveyor's position when the browser already allows it.
 * options: {urls, attribution, label(stop) → text, onOpen(stop)}.
 */
export async function drawDayMap(el, stops, options) {
  removeDayMap();
  const L = await loadLeaflet(options.urls);
  if (!el.isConnected) return null; // the screen changed (or the app locked) meanwhile
  // No zoom or fade animation: the map may be removed at any moment (a tap on a stop,
  // the lock), and a transition ending on a removed map throws in Leaflet.
  const map = L.map(el, {
    zoomSnap: 0.5,
    maxZoom: 18,
    attributionControl: true,
    zoomAnimation: false,
    fadeAnimation: false,
    markerZoomAnimation: false,
  });
  current = map;
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(options.attribution);
  const drawn = L.featureGroup().addTo(map);
  if (stops.length >= 2) {
    L.polyline(
      stops.map((s) => s.at),
      { color: "#0b3d91", weight: 5, opacity: 0.85, interactive: false, className: "route-line" },
    ).addTo(drawn);
  }
  for (const stop of stops) {
    const marker = L.marker(stop.at, {
      // The order only: the name stays masked on the map as in the list.
      icon: L.divIcon({ className: "stop-pin", html: String(Number(stop.order)), iconSize: [48, 48], iconAnchor: [24, 24] }),
      keyboard: true,
      autoPanOnFocus: false, // a tap opens the case at once, no pan animation first
      zIndexOffset: (1000 - stop.order) * 2000, // the earlier stop on top where markers overlap
    });
    marker.on("add", () => {
      const pin = marker.getElement();
      pin.dataset.order = String(stop.order);
      pin.setAttribute("role", "button");
      pin.setAttribute("aria-label", options.label(stop));
    });
    marker.on("click", () => options.onOpen(stop));
    marker.addTo(drawn);
  }
  if (stops.length === 1) map.setView(stops[0].at, 16);
  else if (stops.length) map.fitBounds(drawn.getBounds(), { padding: [40, 40], maxZoom: 17 });
  else map.fitBounds(window.GenchiBasemap.japan);
  el.dataset.markers = String(stops.length);
  window.GenchiBasemap.draw(map, options.urls.basemap)
    .then((count) => {
      el.dataset.basemapLoaded = String(count);
    })
    .catch(() => {
      el.dataset.basemapLoaded = "0";
    });
  if (await geolocationAllowed()) showHere();
  return map;
}

async function geolocationAllowed() {
  if (!navigator.geolocation || !navigator.permissions) return false;
  try {
    return (await navigator.permissions.query({ name: "geolocation" })).state === "granted";
  } catch {
    return false;
  }
}

/** The surveyor's position on the map (asks the browser; kept in memory only). */
export function showHere() {
  const map = current;
  if (!map || !navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(
    (p) => {
      if (current !== map) return;
      const at = [p.coords.latitude, p.coords.longitude];
      const L = window.L;
      if (p.coords.accuracy) {
        L.circle(at, { radius: p.coords.accuracy, color: "#D55E00", weight: 1, fillOpacity: 0.1, interactive: false }).addTo(map);
      }
      L.circleMarker(at, {
        radius: 11,
        color: "#fff",
        weight: 4,
        fillColor: "#D55E00",
        fillOpacity: 1,
        interactive: false,
        className: "here-dot",
      }).addTo(map);
      map.getContainer().dataset.here = "1";
    },
    () => {},
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}
