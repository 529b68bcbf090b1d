// The .js output: <div class="syndication-embed"><a href="…">…</a></div><script src=".../embed/
// {feed}.js" data-layout="cards" async></script>. It fetches the fragment of the options given
// as data-* attributes and shows it in an open shadow root of the div, where the page's CSS
// cannot reach; the link stays in the page (hidden by the shadow root) and is all the page
// shows if the service cannot be reached or fails: a console warning, never an error. When the
// service answers that the code is wrong (a bad option, an unknown feed), its French explanation
// (`detail_fr`) is shown above that link, for the web editor who pasted the code.
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
        if (response.ok) return response.text();
        // A server error is passing: the visitor keeps the link, nothing more.
        if (response.status >= 500) throw new Error('HTTP ' + response.status);
        return response.json().then(function (problem) {
          if (problem && typeof problem.detail_fr === 'string') showProblem(problem.detail_fr);
          throw new Error('HTTP ' + response.status);
        }, function () { throw new Error('HTTP ' + response.status); });
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

// The service's explanation, as text (never as HTML), with the host's link kept below it.
function showProblem(text) {
  var root = host.shadowRoot || host.attachShadow({mode: 'open'});
  var box = document.createElement('p');
  box.setAttribute('role', 'alert');
  box.style.cssText = 'margin:0 0 .5em;padding:.5em .75em;border-left:4px solid #a10f0f;'
    + 'background:#fff;color:#1e1e1e;font:1rem/1.4 system-ui,sans-serif';
  box.textContent = 'Widget : ' + text;
  root.replaceChildren(box, document.createElement('slot'));
}
