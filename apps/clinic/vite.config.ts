import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

/**
 * The clinic app's build: React through Vite's own JSX transform, and a Workbox service worker
 * (vite-plugin-pwa) that precaches the app shell so the app opens with no network.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  plugins: [
    VitePWA({
      // main.tsx registers the worker itself, after the first render.
      injectRegister: false,
      registerType: 'autoUpdate',
      manifest: {
        name: 'Outpost Clinic',
        short_name: 'Clinic',
        description: 'Patient records that keep working without a network',
        start_url: '/',
        display: 'standalone',
        background_color: '#ffffff',
        theme_color: '#0b4f6c',
        icons: [{ src: '/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,webmanifest}'],
        // Every page address opens the app shell from the cache; the API never does.
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/v1\//, /^\/api\//, /^\/watermelon\//],
        importScripts: ['/background-sync.js'],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
});
