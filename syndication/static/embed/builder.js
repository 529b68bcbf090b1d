// The configurator (/embed/builder): form → widget options → preview and code. Plain script, no
// build step. Colours are checked here as the server checks them (WCAG contrast, at least 4.5:1
// against the background in every colour scheme of the theme): a refused pair shows why and
// gives no code.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('builder-config').textContent);
  var form = document.getElementById('builder');
  var field = function (name) { return form.elements[name]; };
  var preview = document.getElementById('preview');
  var contrast = document.getElementById('contrast');
  var titleEdited = false;
  var LAYOUT_DEFAULTS = {headlines: {image: false, summary: false},
                         ticker: {image: false, summary: false},
                         agenda: {image: false}};
  var SCHEMES = {light: ['light'], dark: ['dark'], auto: ['light', 'dark']};
  var SCHEME_NAMES = {light: 'clair', dark: 'sombre'};

  function hex(value) {
    var found = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
    if (!found) return null;
    var digits = found[1].toLowerCase();
    if (digits.length === 3) digits = digits.replace(/./g, '$&$&');
    return '#' + digits;
  }
  function luminance(colour) {
    var sum = 0, weights = [0.2126, 0.7152, 0.0722];
    for (var i = 0; i < 3; i++) {
      var c = parseInt(colour.substr(1 + 2 * i, 2), 16) / 255;
      sum += weights[i] * (c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
    }
    return sum;
  }
  function ratio(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function frenchNumber(n) { return n.toFixed(2).replace('.', ','); }
  function escapeHtml(text) {
    return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;');
  }

  // The colours, or a French sentence saying what is wrong with them.
  function checkColours() {
    var chosen = {}, lines = [];
    var names = {color: 'texte', background: 'fond', accent: 'liens'};
    for (var name in names) {
      var raw = field(name).value;
      field(name).removeAttribute('aria-invalid');
      if (!raw.trim()) continue;
      chosen[name] = hex(raw);
      if (!chosen[name]) {
        field(name).setAttribute('aria-invalid', 'true');
        return {error: 'Couleur de ' + names[name] + ' invalide : écrivez #rgb ou #rrggbb.'};
      }
    }
    var schemes = SCHEMES[field('theme').value];
    for (var i = 0; i < schemes.length; i++) {
      var palette = config.palettes[schemes[i]];
      var background = chosen.background || palette.background;
      var pairs = [['color', 'Texte'], ['accent', 'Liens']];
      for (var j = 0; j < pairs.length; j++) {
        var value = ratio(chosen[pairs[j][0]] || palette[pairs[j][0]], background);
        var where = ' (thème ' + SCHEME_NAMES[schemes[i]] + ')';
        if (value < config.min_contrast) {
          return {error: 'Contraste insuffisant : ' + pairs[j][1].toLowerCase() + ' sur fond '
            + frenchNumber(value) + ':1' + where + ', il faut au moins 4,5:1. '
            + 'Choisissez d’autres couleurs.'};
        }
        lines.push(pairs[j][1] + ' sur fond : ' + frenchNumber(value) + ':1' + where);
      }
    }
    return {colours: chosen, message: 'Contraste suffisant. ' + lines.join(' ; ') + '.'};
  }

  // A number field's value as the server accepts it: an integer within the field's min and
  // max ("Voir plus" at most the count), the default when empty. The code never carries a
  // value the widget would refuse.
  function bounded(name) {
    var input = field(name);
    var value = Math.round(Number(String(input.value).trim().replace(',', '.')));
    var low = input.min === undefined || input.min === '' ? -Infinity : Number(input.min);
    var high = input.max === undefined || input.max === '' ? Infinity : Number(input.max);
    if (name === 'more') high = Math.min(high, bounded('count'));
    if (String(input.value).trim() === '' || !isFinite(value)) value = config.defaults[name];
    return Math.min(high, Math.max(low, value));
  }

  // The options that differ from their defaults, as the server names them.
  function options(colours) {
    var params = new URLSearchParams();
    var layout = field('layout').value;
    var layoutDefaults = LAYOUT_DEFAULTS[layout] || {};
    var feed = field('feed');
    var feedTitle = feed.options[feed.selectedIndex].getAttribute('data-title');
    if (layout !== config.defaults.layout) params.set('layout', layout);
    ['count', 'summary_length', 'heading', 'more'].forEach(function (name) {
      var value = String(bounded(name));
      if (value !== String(config.defaults[name])) params.set(name, value);
    });
    if (layout === 'cards' && String(bounded('columns')) !== String(config.defaults.columns)) {
      params.set('columns', String(bounded('columns')));
    }
    ['image', 'date', 'summary', 'new_tab'].forEach(function (name) {
      var fallback = name in layoutDefaults ? layoutDefaults[name] : name !== 'new_tab';
      if (field(name).checked !== fallback) params.set(name, field(name).checked ? '1' : '0');
    });
    var title = field('title').value.trim();
    if (title !== feedTitle) params.set('title', title);
    ['theme', 'font'].forEach(function (name) {
      if (field(name).value !== config.defaults[name]) params.set(name, field(name).value);
    });
    for (var name in colours) params.set(name, colours[name]);
    var tag = field('tag').value.trim();
    if (tag) params.set('tag', tag);
    return params;
  }

  function show(id, text) { document.getElementById(id).value = text; }

  // The tags of the chosen feed, offered for "Thématique" (its items carry them).
  function showTags() {
    var feed = field('feed');
    var tags = JSON.parse(feed.options[feed.selectedIndex].getAttribute('data-tags') || '[]');
    var list = document.getElementById('tag-list');
    list.replaceChildren();
    tags.forEach(function (tag) {
      var option = document.createElement('option');
      option.value = tag;
      list.appendChild(option);
    });
  }

  function update() {
    var checked = checkColours();
    contrast.textContent = checked.error || checked.message;
    contrast.className = checked.error ? 'refused' : '';
    if (checked.error) {
      ['code-script', 'code-iframe', 'code-wordpress', 'code-html', 'code-php'].forEach(
        function (id) { show(id, ''); });
      return;
    }
    var feed = field('feed').value;
    var params = options(checked.colours);
    var query = params.toString() ? '?' + params : '';
    var base = config.base_url;
    var title = field('title').value.trim()
      || field('feed').options[field('feed').selectedIndex].getAttribute('data-title');
    var frame = base + '/embed/' + feed + '/frame' + query;
    var attributes = '';
    params.forEach(function (value, name) {
      attributes += ' data-' + name + '="' + escapeHtml(value) + '"';
    });
    // The fallback link leads people to the feed's page, not to its XML.
    show('code-script', '<div class="syndication-embed"><a href="' + base + '/feeds/' + feed
      + '">' + escapeHtml(title) + '</a></div>\n<script src="' + base + '/embed/' + feed
      + '.js"' + attributes + ' async></script>');
    show('code-iframe', '<iframe src="' + escapeHtml(frame) + '" title="' + escapeHtml(title)
      + ' : dernières publications" data-syndication-frame width="100%" height="400" '
      + 'style="border:0;width:100%" loading="lazy"></iframe>\n<script src="' + base
      + '/embed/resize.js" async></script>');
    show('code-wordpress', frame);
    show('code-html', base + '/embed/' + feed + '.html' + query);
    show('code-php', "<?php readfile('" + base + '/embed/' + feed + '.html' + query + "'); ?>");
    var previewUrl = '/embed/' + feed + '/frame' + query;
    if (preview.getAttribute('src') !== previewUrl) preview.setAttribute('src', previewUrl);
  }

  var timer = null;
  form.addEventListener('input', function (event) {
    if (event.target === field('title')) titleEdited = true;
    clearTimeout(timer);
    timer = setTimeout(update, 250);
  });
  form.addEventListener('change', function (event) {
    var target = event.target;
    if (target.type === 'number' && String(bounded(target.name)) !== target.value) {
      target.value = String(bounded(target.name));
    }
    if (target === field('feed') && !titleEdited) {
      field('title').value = target.options[target.selectedIndex].getAttribute('data-title');
    }
    if (target === field('feed')) showTags();
    if (target === field('layout')) {
      var defaults = LAYOUT_DEFAULTS[target.value] || {};
      field('image').checked = defaults.image !== false;
      field('summary').checked = defaults.summary !== false;
    }
    clearTimeout(timer);
    update();
  });
  form.addEventListener('submit', function (event) { event.preventDefault(); });
  document.addEventListener('click', function (event) {
    var id = event.target.getAttribute && event.target.getAttribute('data-copy');
    if (!id) return;
    var area = document.getElementById(id);
    var done = function () { document.getElementById('copied').textContent = 'Code copié.'; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(done, function () {
        area.select();
        document.getElementById('copied').textContent = 'Sélectionné : copiez avec Ctrl+C.';
      });
    } else {
      area.select();
      document.getElementById('copied').textContent = document.execCommand('copy')
        ? 'Code copié.' : 'Sélectionné : copiez avec Ctrl+C.';
    }
  });
  update();
})();
