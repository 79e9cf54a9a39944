// The scan page's service worker (scope /scan/): keeps the page, its scripts and the trust data so
// that a worker at a doorstep without network still verifies. The node prepends ASSETS (the
// assets' current URLs) and CACHE (a name that changes with them) when it serves this file.

const PAGES = ['/scan/', '/scan/trust.json'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([...ASSETS, ...PAGES]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith('hunyu-scan-') && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// The network first for the page and the trust data (fresh when it can be), the copy kept when
// it cannot; scripts and styles from the copy, since their URLs change with their content.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/assets/')) {
    event.respondWith(caches.match(event.request).then((kept) => kept || fetch(event.request)));
  } else if (PAGES.includes(url.pathname)) {
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          if (response.ok && !response.redirected) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
          }
          return response;
        })
        .catch(() => caches.match(url.pathname)),
    );
  }
});
