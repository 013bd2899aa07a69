// Which device this tab is.
//
// Each tab is a device of its own: it logs in separately and gets its own token, so two tabs
// of one person stay in sync exactly like a phone and a laptop. Tokens are kept in
// localStorage (so closing and reopening a tab, or reloading it, resumes without a password);
// the tab's own device id is in sessionStorage (it survives a reload of that tab only); and a
// Web Lock per device makes sure two open tabs never share one device. A new tab takes over
// the device of a closed tab if there is one, and otherwise shows the log-in form.

const DEVICES = "parley.devices";
const THIS_TAB = "parley.device";
const held = new Set();

function read() {
  try {
    return JSON.parse(localStorage.getItem(DEVICES) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

function write(devices) {
  localStorage.setItem(DEVICES, JSON.stringify(devices));
}

export function saveDevice({ user_id, device_id, token }) {
  const devices = read();
  devices[device_id] = { user_id, device_id, token, saved_at: Date.now() };
  write(devices);
  sessionStorage.setItem(THIS_TAB, device_id);
}

export function forgetDevice(deviceId) {
  const devices = read();
  delete devices[deviceId];
  write(devices);
  if (sessionStorage.getItem(THIS_TAB) === deviceId) sessionStorage.removeItem(THIS_TAB);
  localStorage.removeItem(`parley.outbox.${deviceId}`);
}

// Hold the device's lock for as long as this page lives; false if another tab holds it.
function lock(deviceId, waitMs) {
  if (!navigator.locks) return Promise.resolve(true);
  if (held.has(deviceId)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const options = waitMs ? { signal: AbortSignal.timeout(waitMs) } : { ifAvailable: true };
    navigator.locks
      .request(`parley-device-${deviceId}`, options, (granted) => {
        if (!granted) {
          resolve(false);
          return undefined;
        }
        held.add(deviceId);
        resolve(true);
        return new Promise(() => {});
      })
      .catch(() => resolve(false));
  });
}

// Claim this tab's device (a reload), or a device no open tab uses; null means: log in.
export async function claimDevice() {
  const devices = read();
  const own = sessionStorage.getItem(THIS_TAB);
  // A reloading tab's previous page may still be letting go of the lock: wait a moment.
  if (own && devices[own] && (await lock(own, 3000))) return devices[own];
  if (!navigator.locks) return null;
  const others = Object.values(devices).sort((a, b) => b.saved_at - a.saved_at);
  for (const device of others) {
    if (device.device_id !== own && (await lock(device.device_id, 0))) {
      sessionStorage.setItem(THIS_TAB, device.device_id);
      return device;
    }
  }
  return null;
}

export async function adoptDevice(session) {
  saveDevice(session);
  await lock(session.device_id, 0);
}
