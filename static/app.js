// Installs the service worker (offline page, cached assets); nothing else runs here.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => navigator.serviceWorker.register("/sw.js", { scope: "/" }));
}
