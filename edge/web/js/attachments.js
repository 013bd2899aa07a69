// Attachments in the chat: a blurred placeholder at once (BlurHash, laid out at the picture's
// own proportions), then the thumbnail; a video's poster with the player; a file's download
// button. Their bytes come from the object store through short-lived links the server hands
// to members of the conversation (GET /v1/media/{id}/download), fetched when shown and kept
// until shortly before they expire.

import { api } from "./api.js";
import { placeholderCanvas } from "./blurhash.js";

const EXPIRY_MARGIN_MS = 30_000;

export class MediaLinks {
  constructor(token) {
    this.token = token;
    this.cache = new Map(); // media id -> { expires, promise }
  }

  // The renditions of a media, by name: { THUMBNAIL: {url, ...}, ... }.
  get(mediaId) {
    const cached = this.cache.get(mediaId);
    if (cached && cached.expires > Date.now()) return cached.promise;
    const promise = api.downloadLinks(this.token, mediaId).then((answer) => {
      entry.expires = answer.expires_at_ms - EXPIRY_MARGIN_MS;
      return Object.fromEntries(answer.variants.map((v) => [v.name, v]));
    });
    const entry = { expires: Date.now() + EXPIRY_MARGIN_MS, promise };
    promise.catch(() => this.cache.delete(mediaId));
    this.cache.set(mediaId, entry);
    return promise;
  }
}

export function sizeText(bytes) {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} bytes`;
}

function node(tag, className, attributes = {}) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

// A frame at the media's proportions (set through the CSSOM: the page's policy forbids
// inline style attributes) with its placeholder painted in.
function frame(kind, attachment) {
  const figure = node("figure", `attachment ${kind}`);
  if (attachment.width && attachment.height) {
    figure.style.aspectRatio = `${attachment.width} / ${attachment.height}`;
    figure.style.maxWidth = `${Math.min(attachment.width, 320)}px`;
  }
  const placeholder = attachment.placeholder ? placeholderCanvas(attachment.placeholder) : null;
  if (placeholder) figure.append(placeholder);
  return figure;
}

function downloadButton(attachment, links) {
  const button = node("button", "file", { type: "button", "data-media-id": attachment.media_id });
  const name = attachment.kind === "ENCRYPTED" ? "Encrypted file" : attachment.file_name || "file";
  button.textContent = `⬇ ${name} (${sizeText(attachment.size_bytes)})`;
  button.setAttribute("aria-label", `Download ${name}, ${sizeText(attachment.size_bytes)}`);
  button.addEventListener("click", async () => {
    const original = (await links.get(attachment.media_id)).ORIGINAL;
    const anchor = node("a", "", { href: original.url, download: attachment.file_name || "" });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
  });
  return button;
}

// One attachment of a stored message.
export function attachmentView(attachment, links) {
  const id = attachment.media_id;
  const names = new Set((attachment.variants ?? []).map((v) => v.name));
  if (attachment.kind === "IMAGE" && names.has("THUMBNAIL")) {
    const figure = frame("image", attachment);
    const img = node("img", "", { alt: attachment.file_name || "Photo", "data-media-id": id, decoding: "async" });
    img.addEventListener("load", () => figure.classList.add("loaded"));
    img.addEventListener("click", async () => {
      const found = await links.get(id);
      window.open((found.PREVIEW ?? found.ORIGINAL).url, "_blank", "noopener");
    });
    links.get(id).then((found) => {
      img.src = found.THUMBNAIL.url;
    }, () => figure.classList.add("gone"));
    figure.append(img);
    return figure;
  }
  if (attachment.kind === "VIDEO" || attachment.kind === "AUDIO") {
    const video = attachment.kind === "VIDEO";
    const figure = frame(video ? "video" : "audio", attachment);
    const player = node(video ? "video" : "audio", "", { controls: "", preload: "none", "data-media-id": id });
    player.setAttribute("aria-label", attachment.file_name || (video ? "Video" : "Audio"));
    links.get(id).then((found) => {
      const poster = found.POSTER ?? found.THUMBNAIL;
      if (video && poster) player.poster = poster.url;
      player.src = (found.PLAYBACK ?? found.ORIGINAL).url;
      figure.classList.add("loaded");
    }, () => figure.classList.add("gone"));
    figure.append(player);
    return figure;
  }
  return downloadButton(attachment, links);
}

// A file of this device's, on its way: a local preview of a picture and the upload's progress.
export function pendingView(upload, file, previews) {
  const figure = node("figure", "attachment pending");
  if (file && file.type?.startsWith("image/")) {
    let url = previews.get(file);
    if (!url) {
      url = URL.createObjectURL(file);
      previews.set(file, url);
    }
    figure.append(node("img", "", { src: url, alt: upload.name }));
  }
  const caption = node("figcaption");
  const percent = upload.size ? Math.floor(((upload.sent ?? 0) * 100) / upload.size) : 0;
  const phase = {
    uploading: `Uploading ${upload.name}: ${percent}%`,
    processing: `Processing ${upload.name}…`,
    sending: upload.name,
  }[upload.phase] ?? upload.name;
  const progress = node("progress", "", { max: String(upload.size || 1), value: String(upload.sent ?? 0) });
  progress.setAttribute("aria-label", phase);
  caption.textContent = phase;
  if (upload.phase === "uploading") figure.append(progress);
  figure.append(caption);
  return figure;
}
