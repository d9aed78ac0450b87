// Starts berth's dashboard. Kept out of index.html because the server's CSP
// allows no inline script.

// Apply the theme chosen with the toggle before the first paint.
try {
  const theme = localStorage.getItem('berth-theme');
  if (theme === 'light' || theme === 'dark') {
    document.documentElement.dataset.theme = theme;
  }
} catch {
  // Storage can be off (private modes); the system theme applies then.
}

import init from '/pkg/frontend.js';
await init({ module_or_path: '/pkg/frontend_bg.wasm' });
