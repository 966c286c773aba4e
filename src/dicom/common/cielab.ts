// Recommended Display CIELab Value (PS3.3 C.10.7.1.1): CIELab (D65 white point) scaled to 0..65535, L* from
// 0..100 and a*, b* from -128..127. OphGate chooses segment colours in sRGB, which a reader of the code can picture.

const D65 = [0.95047, 1.0, 1.08883] as const;

function linear(c: number): number {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function f(t: number): number {
  return t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29;
}

/** sRGB 0..255 to CIELab (L* 0..100, a*, b* about -128..127). */
export function srgbToLab([r, g, b]: readonly [number, number, number]): [number, number, number] {
  const [R, G, B] = [linear(r), linear(g), linear(b)];
  const x = 0.4124564 * R + 0.3575761 * G + 0.1804375 * B;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = 0.0193339 * R + 0.119192 * G + 0.9503041 * B;
  const [fx, fy, fz] = [f(x / D65[0]), f(y / D65[1]), f(z / D65[2])];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** sRGB 0..255 to the DICOM-scaled CIELab triplet. */
export function srgbToDicomLab(rgb: readonly [number, number, number]): [number, number, number] {
  const [L, a, b] = srgbToLab(rgb);
  const clamp = (v: number) => Math.max(0, Math.min(65535, Math.round(v)));
  return [clamp((L * 65535) / 100), clamp(((a + 128) * 65535) / 255), clamp(((b + 128) * 65535) / 255)];
}
