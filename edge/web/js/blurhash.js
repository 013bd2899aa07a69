// BlurHash (https://blurha.sh): the few dozen characters an attachment carries to paint a
// blurred stand-in before any byte of the picture is downloaded. Decoding only; the media
// processor encodes (streams/media/placeholder.py).

const CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

function decode83(text) {
  let value = 0;
  for (const c of text) {
    const digit = CHARS.indexOf(c);
    if (digit < 0) throw new Error("not a BlurHash");
    value = value * 83 + digit;
  }
  return value;
}

const toLinear = (value) => {
  const v = value / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
};

const toSrgb = (value) => {
  const v = Math.max(0, Math.min(1, value));
  return Math.round((v <= 0.0031308 ? v * 12.92 : 1.055 * v ** (1 / 2.4) - 0.055) * 255);
};

const signedSquare = (value) => Math.sign(value) * value * value;

// RGBA pixels of `width` x `height` for `hash`; throws on a malformed hash.
export function decode(hash, width, height) {
  if (typeof hash !== "string" || hash.length < 6) throw new Error("not a BlurHash");
  const size = decode83(hash[0]);
  const numY = Math.floor(size / 9) + 1;
  const numX = (size % 9) + 1;
  if (hash.length !== 4 + 2 * numX * numY) throw new Error("not a BlurHash");
  const maximum = (decode83(hash[1]) + 1) / 166;
  const colors = [];
  const dc = decode83(hash.slice(2, 6));
  colors.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
  for (let i = 1; i < numX * numY; i += 1) {
    const ac = decode83(hash.slice(4 + i * 2, 6 + i * 2));
    colors.push([
      signedSquare((Math.floor(ac / 361) - 9) / 9) * maximum,
      signedSquare(((Math.floor(ac / 19) % 19) - 9) / 9) * maximum,
      signedSquare(((ac % 19) - 9) / 9) * maximum,
    ]);
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < numY; j += 1) {
        for (let i = 0; i < numX; i += 1) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const color = colors[i + j * numX];
          r += color[0] * basis;
          g += color[1] * basis;
          b += color[2] * basis;
        }
      }
      const at = 4 * (x + y * width);
      pixels[at] = toSrgb(r);
      pixels[at + 1] = toSrgb(g);
      pixels[at + 2] = toSrgb(b);
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

// A small canvas painted with the hash (the page scales it up; it is a blur anyway), or null.
export function placeholderCanvas(hash) {
  const width = 32;
  const height = 32;
  let pixels;
  try {
    pixels = decode(hash, width, height);
  } catch {
    return null;
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = "placeholder";
  canvas.setAttribute("aria-hidden", "true");
  canvas.getContext("2d").putImageData(new ImageData(pixels, width, height), 0, 0);
  return canvas;
}
