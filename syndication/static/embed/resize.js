// /embed/resize.js, for pages that show the widget's iframe without WordPress:
// <iframe src=".../embed/{feed}/frame" data-syndication-frame …></iframe>. Each frame tells its
// height; a message is believed only from the window of a marked iframe (event.source) and
// from that iframe's own origin (event.origin), so no other frame or page can resize anything.
// Frames that loaded before this script are asked to tell their height again.
(function () {
  var root = document.documentElement;
  if (root.hasAttribute('data-syndication-resize')) return; // included twice
  root.setAttribute('data-syndication-resize', '');
  window.addEventListener('message', function (event) {
    var data = event.data;
    if (!data || data.type !== 'syndication:height') return;
    var height = Number(data.height);
    if (!isFinite(height) || height < 0 || height > 20000) return;
    var frames = document.querySelectorAll('iframe[data-syndication-frame]');
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow !== event.source) continue;
      var origin;
      try { origin = new URL(frames[i].src, location.href).origin; } catch (e) { return; }
      if (origin === event.origin) frames[i].style.height = Math.ceil(height) + 'px';
      return;
    }
  });
  // A frame that loaded before this script told its height to nobody: ask again.
  var frames = document.querySelectorAll('iframe[data-syndication-frame]');
  for (var i = 0; i < frames.length; i++) {
    try {
      frames[i].contentWindow.postMessage({type: 'syndication:measure'},
        new URL(frames[i].src, location.href).origin);
    } catch (e) { /* not loaded yet: it reports by itself once it is */ }
  }
})();
