import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

/**
 * The clinic app's build: React through Vite's own JSX transform, and the app's own service worker
 * (src/worker/sw.ts, built by vite-plugin-pwa's injectManifest) that precaches the app shell so the
 * app opens with no network, and syncs the device when Background Sync wakes it with no tab open.
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
      strategies: 'injectManifest',
      srcDir: 'src/worker',
      filename: 'sw.ts',
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
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,webmanifest}'],
        // The worker itself is not part of the shell it caches.
        globIgnores: ['sw.js'],
        // One classic script: main.tsx registers /sw.js without `type: 'module'`, which Firefox
        // and Safari took long to support in service workers.
        rollupFormat: 'iife',
      },
    }),
  ],
});
