// The .js output: <div class="syndication-embed"><a href="…">…</a></div><script src=".../embed/
// {feed}.js" data-layout="cards" async></script>. It fetches the fragment of the options given
// as data-* attributes and shows it in an open shadow root of the div, where the page's CSS
// cannot reach; the link stays in the page (hidden by the shadow root) and is all the page
// shows if anything fails: a console warning, never an error.
var script = document.currentScript; // only valid now, before any asynchronous step
var found = script && /^(.*)\/embed\/([^\/?#]+)\.js(?:[?#].*)?$/.exec(script.src);
if (found && script.parentNode) {
  var host = script.previousElementSibling;
  if (!host || !host.classList.contains('syndication-embed')) {
    host = document.createElement('div');
    host.className = 'syndication-embed';
    script.parentNode.insertBefore(host, script);
  }
  var params = new URLSearchParams();
  for (var i = 0; i < script.attributes.length; i++) {
    var attribute = script.attributes[i];
    if (attribute.name.indexOf('data-') === 0) {
      params.append(attribute.name.slice(5).replace(/-/g, '_'), attribute.value);
    }
  }
  if (!host.shadowRoot) {
    fetch(found[1] + '/embed/' + found[2] + '.html?' + params, {credentials: 'omit'})
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (html) {
        var root = host.shadowRoot || host.attachShadow({mode: 'open'});
        root.innerHTML = html;
        enhanceWidget(root.querySelector('.syndication-widget'));
      })
      .catch(function (error) {
        if (window.console) console.warn('syndication widget: ' + error);
      });
  }
}
