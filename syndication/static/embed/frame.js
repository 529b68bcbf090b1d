// The iframe page: reports its height to the parent page, as WordPress expects when the URL
// carries #?secret= (wp-embed's {message, value, secret} messages), else as /embed/resize.js
// expects ({type: 'syndication:height'}). Under WordPress the frame is sandboxed and cannot
// navigate the page: a click asks WordPress to, which it does only for URLs of the frame's own
// host, so other links go through /embed/{feed}/go, which redirects to items of the feed only.
enhanceWidget(document.querySelector('.syndication-widget'));
var secret = (/^#\?(?:.*&)?secret=([A-Za-z0-9]+)/.exec(location.hash) || [])[1];
var lastHeight = -1;
function reportHeight() {
  var height = Math.ceil(document.body.getBoundingClientRect().height);
  if (height === lastHeight || window.parent === window) return;
  lastHeight = height;
  window.parent.postMessage(secret ? {message: 'height', value: height, secret: secret}
    : {type: 'syndication:height', height: height, id: window.name || null}, '*');
}
if (window.ResizeObserver) new ResizeObserver(reportHeight).observe(document.body);
// The host's script may start after this frame reported: resize.js asks ('syndication:measure'),
// WordPress's wp-embed says 'ready' with the secret; either way the frame tells again.
window.addEventListener('message', function (event) {
  var data = event.data;
  if (event.source !== window.parent || !data) return;
  var asked = data.type === 'syndication:measure' ||
    (secret && data.message === 'ready' && data.secret === secret);
  if (!asked) return;
  lastHeight = -1;
  reportHeight();
});
window.addEventListener('load', reportHeight);
window.addEventListener('resize', reportHeight);
reportHeight();
if (secret) {
  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('a[href]');
    if (!link) return;
    event.preventDefault();
    var here = new URL(location.href);
    var value = new URL(link.href).host === here.host ? link.href
      : new URL('go?url=' + encodeURIComponent(link.href), here).href;
    window.parent.postMessage({message: 'link', value: value, secret: secret}, '*');
  });
}
