// Photos are taken inside the app only (C-S2.6, S9): the camera through getUserMedia,
// the frame drawn on a canvas and encoded as JPEG in memory. There is no file input, so
// nothing can be picked from the gallery, and nothing is ever written to it: the bytes
// go straight to the sealed outbox (AES-GCM) and up at the next sync.

const MAX_SIDE = 2048; // the server keeps photos at most this size (fieldwork/photos.py)

export async function openCamera(video) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error("no camera");
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment", width: { ideal: 1920 }, height: { ideal: 1080 } },
    audio: false,
  });
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  video.muted = true;
  await video.play();
  return stream;
}

export function closeCamera(stream, video) {
  if (stream) for (const track of stream.getTracks()) track.stop();
  if (video) video.srcObject = null;
}

// The current frame as JPEG bytes.
export async function takePhoto(video, quality = 0.85) {
  const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", quality));
  canvas.width = canvas.height = 0; // let go of the pixels
  return new Uint8Array(await blob.arrayBuffer());
}
