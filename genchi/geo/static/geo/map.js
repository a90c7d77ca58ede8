// Draws the maps of `{% genchi_map %}` with the Leaflet shipped in Genchi, over the
// offline outline of Japan. A tile layer is added only when the page names a tile
// server (GENCHI_MAP_TILE_URL); otherwise nothing is fetched from outside Genchi.
(function () {
  "use strict";
  var JAPAN = [[24.0, 122.9], [45.6, 145.9]];
  var CITY_LABEL_ZOOM = 10;
  var CITY_LABEL_LIMIT = 150;

  function basemapStyle() {
    return { color: "#9a9a9a", weight: 1, fillColor: "#f3f1ea", fillOpacity: 1, interactive: false };
  }

  function drawCities(map, cities, layer) {
    layer.clearLayers();
    if (map.getZoom() < CITY_LABEL_ZOOM) return;
    var bounds = map.getBounds();
    var shown = 0;
    for (var i = 0; i < cities.length && shown < CITY_LABEL_LIMIT; i++) {
      var c = cities[i].geometry.coordinates;
      var at = L.latLng(c[1], c[0]);
      if (!bounds.contains(at)) continue;
      L.marker(at, {
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: "map-city-label", html: "", iconSize: null }),
      })
        .on("add", function (name) {
          return function (event) { event.target.getElement().textContent = name; };
        }(cities[i].properties.name))
        .addTo(layer);
      shown++;
    }
  }

  // The outline of Japan and the municipalities' names, from `url` (the office's maps and
  // the tablet's day map). Resolves with the number of prefectures drawn. The file is
  // fetched once per page; it holds no personal data.
  var basemaps = {};
  function loadBasemap(map, url) {
    if (!map.getPane("basemap")) map.createPane("basemap").style.zIndex = 200;
    if (!basemaps[url]) {
      basemaps[url] = fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) throw new Error("basemap " + response.status);
        return response.json();
      });
      basemaps[url].catch(function () { delete basemaps[url]; });
    }
    // The map may be removed before the file arrives (the tablet drops its map with its
    // screen): then nothing is drawn on it.
    var removed = false;
    map.once("unload", function () { removed = true; });
    return basemaps[url].then(function (collection) {
      if (removed) return 0;
      var prefs = collection.features.filter(function (f) { return f.properties.kind === "pref"; });
      var cities = collection.features.filter(function (f) { return f.properties.kind === "city"; });
      var outline = L.geoJSON(prefs, { style: basemapStyle, pane: "basemap" }).addTo(map);
      var labels = L.layerGroup().addTo(map);
      map.on("zoomend moveend", function () { if (!removed) drawCities(map, cities, labels); });
      drawCities(map, cities, labels);
      return outline.getLayers().length;
    });
  }

  function drawBasemap(map, el) {
    loadBasemap(map, el.getAttribute("data-basemap"))
      .then(function (count) { el.setAttribute("data-basemap-loaded", String(count)); })
      .catch(function () { el.setAttribute("data-basemap-loaded", "0"); });
  }

  window.GenchiBasemap = { draw: loadBasemap, japan: JAPAN };

  function draw(el) {
    var data = JSON.parse(document.getElementById(el.getAttribute("data-map")).textContent);
    var map = L.map(el, { zoomSnap: 0.5, attributionControl: true, maxZoom: 17 });
    map.attributionControl.setPrefix(false);
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { attribution: el.getAttribute("data-tiles-attribution") || "", maxZoom: 18 }).addTo(map);
    } else {
      map.attributionControl.addAttribution(el.getAttribute("data-basemap-attribution"));
      drawBasemap(map, el);
    }
    var drawn = L.featureGroup().addTo(map);
    data.hulls.forEach(function (h) {
      L.polygon(h.points, { color: h.color, weight: 2, fillOpacity: 0.12, interactive: false }).addTo(drawn);
    });
    data.routes.forEach(function (r) {
      var line = L.polyline(r.points, { color: r.color, weight: 3, opacity: 0.85 }).addTo(drawn);
      if (r.label) line.bindTooltip(r.label, { sticky: true });
    });
    data.markers.forEach(function (m) {
      var marker = L.circleMarker([m.lat, m.lng], {
        radius: 7, color: "#ffffff", weight: 2, fillColor: m.color, fillOpacity: 0.95,
      }).addTo(drawn);
      if (m.label) marker.bindTooltip(m.label);
      if (m.href) marker.on("click", function () { window.location.href = m.href; });
    });
    if (data.markers.length === 1 && !data.hulls.length && !data.routes.length) {
      // One place: the town and its neighbours' names around it.
      map.setView([data.markers[0].lat, data.markers[0].lng], 12);
    } else if (drawn.getLayers().length) {
      map.fitBounds(drawn.getBounds(), { padding: [24, 24], maxZoom: 14 });
    } else {
      map.fitBounds(JAPAN);
    }
    el.setAttribute("data-drawn", String(data.markers.length));
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof L === "undefined") return;
    document.querySelectorAll(".genchi-map[data-map]").forEach(draw);
  });
})();
