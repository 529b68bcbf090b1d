// What a widget does once a script runs (the .js output and the iframe page share it): the
// "Voir plus" disclosure and the ticker's pause control. Without a script every item shows and
// the ticker stands still, so nothing here is needed to read the widget.
function enhanceWidget(widget) {
  if (!widget || widget.classList.contains('syndication-widget--enhanced')) return;
  var more = widget.querySelector('.syndication-widget__more');
  if (more) {
    var extra = widget.querySelectorAll('.syndication-widget__item--more');
    var expand = function (open) {
      for (var i = 0; i < extra.length; i++) extra[i].hidden = !open;
      more.setAttribute('aria-expanded', String(open));
      more.textContent = open ? 'Voir moins' : 'Voir plus';
    };
    expand(false);
    more.hidden = false;
    more.addEventListener('click', function () {
      expand(more.getAttribute('aria-expanded') !== 'true');
    });
  }
  var pause = widget.querySelector('.syndication-widget__pause');
  if (pause) {
    pause.hidden = false;
    pause.addEventListener('click', function () {
      var paused = pause.getAttribute('aria-pressed') !== 'true';
      pause.setAttribute('aria-pressed', String(paused));
      widget.classList.toggle('syndication-widget--paused', paused);
    });
  }
  widget.classList.add('syndication-widget--enhanced');
}
