/* Order notifications (journeys.push): shows what the shop pushes, and opens the order's page on a tap.
   Every order subscribes in a scope of its own under /o/push/; this one file serves them all. */
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data ? event.data.text() : "" };
  }
  const options = { body: data.body || "", data: { url: data.url || "/" } };
  if (data.tag) {
    // A newer update about the same order takes the place of the older one, and still alerts.
    options.tag = data.tag;
    options.renotify = true;
  }
  if (data.icon) options.icon = data.icon;
  event.waitUntil(self.registration.showNotification(data.title || "{{ default_title|escapejs }}", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (client.url === url && "focus" in client) return client.focus();
      }
      return self.clients.openWindow(url);
    })
  );
});
