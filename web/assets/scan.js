// The scan page (查验): reads a QR code from the camera (BarcodeDetector where the browser has it,
// jsQR otherwise) into the form, which the node verifies. Without network it verifies here, with
// verify.js and the trust data the service worker keeps, and says so. The texts come from the page
// (data-words), in its language: this file holds no wording and no rule of its own.

import { openTrust, verifyOffline } from './verify.js';

const form = document.getElementById('scan-form');
const field = document.getElementById('token');
const result = document.getElementById('offline-result');
const network = document.getElementById('network');
const cameraStatus = document.getElementById('camera-status');
const words = JSON.parse(result.dataset.words);

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/scan/sw.js', { scope: '/scan/' }).catch(() => {});
}

// The trust data, opened once: the directory and status lists, each checked against its signature.
let trust = null;
let trustFetchedAt = null;
async function loadTrust() {
  try {
    const response = await fetch('/scan/trust.json', { credentials: 'same-origin' });
    if (!response.ok) return;
    const bundle = await response.json();
    trust = await openTrust(bundle);
    trustFetchedAt = bundle.fetched_at;
  } catch {
    // Kept as it was: the next scan tries again.
  }
}
loadTrust();

function showNetwork() {
  network.textContent = navigator.onLine ? '' : ` ${words.offline}`;
}
addEventListener('online', showNetwork);
addEventListener('offline', showNetwork);
showNetwork();

// On line, the form goes to the node as it is; off line, it is verified here.
form.addEventListener('submit', (event) => {
  if (navigator.onLine) return;
  event.preventDefault();
  verifyHere(field.value);
});

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

async function verifyHere(text) {
  if (!trust) await loadTrust();
  result.replaceChildren();
  result.hidden = false;
  if (!trust) {
    result.append(element('p', 'notice bad', words.no_trust));
    return;
  }
  const verdict = await verifyOffline(text, trust);
  const block = element('section', `verdict ${verdict.valid ? 'ok' : 'bad'}`);
  block.id = 'verdict';
  block.dataset.status = verdict.status;
  block.setAttribute('role', 'alert');
  block.append(element('p', 'big', words.status[verdict.status]));
  for (const reason of verdict.reasons) {
    const line = element('p', 'reason', words.lang === 'zh' ? reason.message_zh : reason.message_en);
    line.dataset.code = reason.code;
    block.append(line);
  }
  for (const warning of verdict.warnings) {
    const line = element('p', 'warning', words.lang === 'zh' ? warning.message_zh : warning.message_en);
    line.dataset.code = warning.code;
    block.append(line);
  }
  block.append(element('p', 'muted', `${words.offline_verdict} ${trustFetchedAt ?? ''}`));
  result.append(block);
  const certificate = verdict.certificate;
  if (certificate) {
    const list = element('dl', 'certificate');
    const rows = [
      [words.name, certificate.person.name],
      [words.id_number, certificate.person.id_number],
      [words.issuer, verdict.issuer ? `${verdict.issuer.name} (${verdict.issuer.code})` : ''],
    ];
    for (const [term, value] of rows) {
      list.append(element('dt', null, term), element('dd', null, value));
    }
    list.querySelector('dd').id = 'holder-name';
    result.append(list);
  }
  if (arrivalForm && verdict.valid) {
    document.getElementById('arrival-token').value = text.trim();
    arrivalForm.hidden = false;
  }
  result.scrollIntoView();
}

// Arrivals registered while off line wait on this device, and go to the node once it answers,
// each under the account that registered it: another person signed in on a shared phone neither
// sends them as theirs nor sees them.
const QUEUE = `hunyu-arrivals:${form.dataset.account}`;
const arrivalForm = document.getElementById('arrival-form');
const queuedStatus = document.getElementById('queued');
const queued = () => JSON.parse(localStorage.getItem(QUEUE) ?? '[]');

arrivalForm?.addEventListener('submit', (event) => {
  if (navigator.onLine) return;
  event.preventDefault();
  const fields = new FormData(arrivalForm);
  const item = { token: fields.get('token'), address: fields.get('address'), arrived_on: fields.get('arrived_on') };
  localStorage.setItem(QUEUE, JSON.stringify([...queued(), item]));
  queuedStatus.textContent = words.queued;
});

async function sendQueued() {
  const waiting = queued();
  if (!navigator.onLine || waiting.length === 0) return;
  const formToken = form.querySelector('input[name=form_token]').value;
  const left = [];
  let sent = 0;
  let refused = 0;
  for (const item of waiting) {
    try {
      // Not followed: a session that ended answers with the sign-in page, which is no registration.
      const response = await fetch('/scan/arrival', {
        method: 'POST',
        credentials: 'same-origin',
        redirect: 'manual',
        body: new URLSearchParams({ ...item, form_token: formToken }),
      });
      // Registered, or refused for what it says (kept, it would be refused again); anything else
      // (no session, a stale form, a limit, the node failing) leaves it for the next try.
      if (response.status === 201) sent += 1;
      else if (response.status === 422) refused += 1;
      else left.push(item);
    } catch {
      left.push(item);
    }
  }
  localStorage.setItem(QUEUE, JSON.stringify(left));
  const said = [sent ? words.sent : '', refused ? words.refused : ''].filter(Boolean).join(' ');
  if (said) network.textContent = ` ${said}`;
}
addEventListener('online', sendQueued);
sendQueued();

// The camera: frames read until one holds a QR code, then the camera is let go.
document.getElementById('start-camera').addEventListener('click', async () => {
  const video = document.getElementById('preview');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch {
    cameraStatus.textContent = words.no_camera;
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  cameraStatus.textContent = words.scanning;
  const detector = 'BarcodeDetector' in globalThis ? new BarcodeDetector({ formats: ['qr_code'] }) : null;
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const read = async () => {
    if (detector) {
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length) return codes[0].rawValue;
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const code = jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
    return code ? code.data : null;
  };
  const tick = async () => {
    const text = video.readyState >= 2 && video.videoWidth > 0 ? await read() : null;
    if (!text) {
      setTimeout(tick, 150);
      return;
    }
    for (const track of stream.getTracks()) track.stop();
    video.hidden = true;
    cameraStatus.textContent = '';
    field.value = text;
    if (navigator.onLine) form.requestSubmit();
    else verifyHere(text);
  };
  tick();
});
