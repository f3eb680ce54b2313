// Installs the service worker (offline page, cached assets) and, on the
// notification settings page only, turns web push on and off for this device.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => navigator.serviceWorker.register("/sw.js", { scope: "/" }));
}

// The settings page may arrive through an htmx-boosted click: set up after swaps too.
function setUpPush() {
  const box = document.getElementById("push-controls");
  if (!box || box.dataset.ready) return;
  box.dataset.ready = "1";
  document.getElementById("push-nojs").hidden = true;
  const on = document.getElementById("push-on");
  const off = document.getElementById("push-off");
  const status = document.getElementById("push-status");
  const say = (key) => { status.textContent = status.dataset[key] || ""; };
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("unsupported");
    return;
  }
  const csrf = () => (document.querySelector("input[name=_csrf_token]") || {}).value || "";
  const postJSON = (url, data) => fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "content-type": "application/json", "x-csrftoken": csrf() },
    body: JSON.stringify(data),
  });
  const fromBase64Url = (text) => {
    const raw = atob((text + "=".repeat((4 - text.length % 4) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  };
  const show = (subscribed) => { on.hidden = subscribed; off.hidden = !subscribed; };

  navigator.serviceWorker.ready.then((reg) => reg.pushManager.getSubscription()).then((sub) => show(!!sub));

  on.addEventListener("click", async () => {
    on.disabled = true;
    try {
      // Asked only now, after the tap: never on page load.
      if (await Notification.requestPermission() !== "granted") { say("denied"); return; }
      const reg = await navigator.serviceWorker.ready;
      const { key } = await (await fetch(box.dataset.keyUrl, { credentials: "same-origin" })).json();
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64Url(key) });
      const answer = await postJSON(box.dataset.subscribeUrl, sub.toJSON());
      if (!answer.ok) { await sub.unsubscribe(); say("failed"); return; }
      show(true);
      say("on");
    } catch (e) {
      say("failed");
    } finally {
      on.disabled = false;
    }
  });

  off.addEventListener("click", async () => {
    const reg = await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.getSubscription();
    if (sub) {
      await postJSON(box.dataset.unsubscribeUrl, { endpoint: sub.endpoint });
      await sub.unsubscribe();
    }
    show(false);
    say("off");
  });
}
document.addEventListener("DOMContentLoaded", setUpPush);
document.addEventListener("htmx:after:settle", setUpPush);

// The unread badge (templates/notify/_badge.html) is asked again by htmx every
// minute. A hidden tab asks nothing: its polls are dropped here, and the badge
// is asked once when the tab is seen again. (A trigger filter would do this in
// the attribute, but htmx evaluates filters with Function, which the CSP forbids.)
document.addEventListener("htmx:config:request", (event) => {
  const source = event.detail.ctx.sourceElement;
  if (source && source.id === "notif-badge" && document.visibilityState === "hidden") event.preventDefault();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && window.htmx) htmx.trigger(document.body, "notifications:changed");
});

// A boosted link or form that finds no network would otherwise do nothing:
// htmx 4 reports a request that never got a response as htmx:error with no
// ctx.response. The message goes in the live region of templates/base.html
// and leaves with the next answer from the server or the network's return.
document.addEventListener("htmx:error", (event) => {
  const ctx = event.detail.ctx;
  const region = document.getElementById("connection");
  if (!ctx || ctx.response || !region) return;
  region.textContent = region.dataset.offline;
});
function clearOffline() {
  const region = document.getElementById("connection");
  if (region) region.textContent = "";
}
document.addEventListener("htmx:after:request", clearOffline);
window.addEventListener("online", clearOffline);

// A post's « Partager » (templates/posts/_share.html): the system's share sheet
// where the browser has one; otherwise the readonly link stays, with « Copier
// le lien » where the browser can copy. Without JavaScript, the link alone.
function setUpShare() {
  const box = document.querySelector(".share");
  if (!box || box.dataset.ready) return;
  box.dataset.ready = "1";
  const link = box.querySelector("#share-url");
  const status = box.querySelector(".share-status");
  if (navigator.share) {
    const button = box.querySelector(".share-native");
    box.querySelector(".share-link").hidden = true;
    button.hidden = false;
    button.addEventListener("click", () => {
      navigator.share({ title: box.dataset.shareTitle, url: link.value }).catch(() => {});
    });
  } else if (navigator.clipboard && window.isSecureContext) {
    const copy = box.querySelector(".share-copy");
    copy.hidden = false;
    copy.addEventListener("click", () => {
      navigator.clipboard.writeText(link.value).then(() => { status.textContent = status.dataset.copied; }, () => link.select());
    });
  }
  link.addEventListener("focus", () => link.select());
}
document.addEventListener("DOMContentLoaded", setUpShare);
document.addEventListener("htmx:after:settle", setUpShare);
