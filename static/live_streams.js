// Live streams that a hidden page lets go.
//
// A browser opens at most six connections to one site over HTTP/1.1, and every open grid,
// Files tab or job page holds one for its live updates: with six such tabs open, a seventh
// tab of Wharf (any of its requests, even the page itself) waited for ever. So a page
// that is hidden (another tab in front, the window minimised) closes its stream after a
// few seconds, and a page opened in the background opens none; shown again, it opens the
// stream and refreshes once, as for a change it may have missed meanwhile.
//
// The htmx SSE extension asks `htmx.createEventSource` for its streams; this hands it one
// that behaves as an EventSource whose connection comes and goes with the page's
// visibility.
(function () {
  "use strict";

  // How long a hidden page keeps its stream: a glance at another tab costs nothing.
  var HIDDEN_GRACE_MS = 3000;
  var CONNECTING = 0;
  var CLOSED = 2;

  // Every stream of the page. Leaving the page (a link followed, or the page kept in the
  // back-forward cache) closes them at once: left to the server's next heartbeat, a page
  // left seconds ago still counted against the session's few streams, and clicking through
  // six live pages got the sixth refused (probe 64c D1). Shown again from that cache, a page
  // opens them again and refreshes.
  var sources = [];
  window.addEventListener("pagehide", function () {
    sources.forEach(function (s) { s.pause(); });
  });
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    sources.forEach(function (s) {
      if (!s.ended && !s.source && !document.hidden) s.connect(true);
    });
  });

  // A stream its answer ended leaves the page as it was. When the page itself is now
  // answered otherwise (a redirect to the sign-in form or to a guest's "session ended",
  // or no longer found), it is loaded again to say so: a removed guest kept a stale grid,
  // and met the team's sign-in form at their next click (probe 68b D10). A stream refused
  // for a crowd of them leaves the page be: the page still answers.
  var checked = false;
  function leaveWhenGone() {
    if (checked) return;
    checked = true;
    fetch(window.location.href, { credentials: "same-origin", redirect: "manual" })
      .then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403 || r.status === 404) {
          window.location.reload();
        } else {
          checked = false;
        }
      })
      .catch(function () { checked = false; });
  }

  function PausableSource(url) {
    sources.push(this);
    this.url = url;
    this.onopen = null;
    this.onerror = null;
    this.source = null;
    this.ended = false; // closed for good: by its page, or by an answer that ends it
    this.pauseTimer = null;
    this.listeners = {}; // event name -> the page's listeners
    var self = this;
    this.onVisibility = function () { self.visibilityChanged(); };
    document.addEventListener("visibilitychange", this.onVisibility);
    if (!document.hidden) this.connect(false);
  }

  Object.defineProperty(PausableSource.prototype, "readyState", {
    get: function () {
      if (this.ended) return CLOSED;
      // Paused reads as connecting: the extension then waits instead of starting another.
      return this.source ? this.source.readyState : CONNECTING;
    },
  });

  PausableSource.prototype.connect = function (resumed) {
    var self = this;
    var source = new EventSource(this.url, { withCredentials: true });
    this.source = source;
    Object.keys(this.listeners).forEach(function (name) { self.relay(name); });
    source.onopen = function (e) {
      if (resumed) self.dispatch("changed", new MessageEvent("changed", { data: "changed" }));
      resumed = false;
      if (self.onopen) self.onopen(e);
    };
    source.onerror = function (e) {
      // The browser reconnects by itself unless the answer ended the stream (signed out,
      // access gone): then the extension decides, as it would for a plain EventSource.
      if (source.readyState === CLOSED && self.source === source) {
        self.end();
        leaveWhenGone();
      }
      if (self.onerror) self.onerror(e);
    };
  };

  PausableSource.prototype.pause = function () {
    if (!this.source) return;
    var source = this.source;
    this.source = null;
    source.close();
  };

  PausableSource.prototype.visibilityChanged = function () {
    if (this.ended) return;
    var self = this;
    if (document.hidden) {
      if (this.pauseTimer === null) {
        this.pauseTimer = window.setTimeout(function () {
          self.pauseTimer = null;
          if (document.hidden) self.pause();
        }, HIDDEN_GRACE_MS);
      }
    } else {
      if (this.pauseTimer !== null) {
        window.clearTimeout(this.pauseTimer);
        this.pauseTimer = null;
      }
      if (!this.source) this.connect(true);
    }
  };

  PausableSource.prototype.end = function () {
    this.ended = true;
    if (this.pauseTimer !== null) window.clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    document.removeEventListener("visibilitychange", this.onVisibility);
  };

  PausableSource.prototype.close = function () {
    this.end();
    this.pause();
  };

  // The connection of the moment passes each named event on to the page's listeners.
  PausableSource.prototype.relay = function (name) {
    var self = this;
    if (this.source) this.source.addEventListener(name, function (e) { self.dispatch(name, e); });
  };

  PausableSource.prototype.dispatch = function (name, e) {
    var self = this;
    (this.listeners[name] || []).slice().forEach(function (listener) { listener.call(self, e); });
  };

  PausableSource.prototype.addEventListener = function (name, listener) {
    if (!this.listeners[name]) {
      this.listeners[name] = [];
      this.relay(name);
    }
    if (this.listeners[name].indexOf(listener) < 0) this.listeners[name].push(listener);
  };

  PausableSource.prototype.removeEventListener = function (name, listener) {
    var list = this.listeners[name];
    if (list) this.listeners[name] = list.filter(function (l) { return l !== listener; });
  };

  if (window.htmx) {
    htmx.createEventSource = function (url) { return new PausableSource(url); };
  }
})();
