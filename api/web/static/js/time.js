// Wall-clock times in a camera's time zone: what officers type and read, and the ISO strings the API takes.

const formatters = new Map();

function formatter(tz) {
  if (!formatters.has(tz)) {
    formatters.set(
      tz,
      new Intl.DateTimeFormat("en-GB", {
        timeZone: tz,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      }),
    );
  }
  return formatters.get(tz);
}

// The wall-clock fields of an instant in a time zone.
export function wallParts(ms, tz) {
  const parts = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

// Minutes the zone is ahead of UTC at an instant.
export function offsetMinutes(ms, tz) {
  const w = wallParts(ms, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

export function offsetText(minutes) {
  const sign = minutes < 0 ? "-" : "+";
  const m = Math.abs(minutes);
  return `${sign}${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

// The instant at which a zone's clocks show this date ("2024-11-07") and time ("05:00").
export function wallToMs(date, time, tz) {
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi, s = 0] = time.split(":").map(Number);
  const naive = Date.UTC(y, mo - 1, d, h, mi, s);
  let ms = naive - offsetMinutes(naive, tz) * 60000;
  // Around a daylight-saving change the first guess can land on the other side of it.
  const second = naive - offsetMinutes(ms, tz) * 60000;
  if (second !== ms) ms = second;
  return ms;
}

// ISO 8601 with the zone's offset, e.g. 2024-11-07T05:00:00+08:00.
export function isoInZone(ms, tz) {
  const w = wallParts(ms, tz);
  return (
    `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` +
    offsetText(offsetMinutes(ms, tz))
  );
}

export function dateInZone(ms, tz) {
  const w = wallParts(ms, tz);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

export function timeInZone(ms, tz, seconds = false) {
  const w = wallParts(ms, tz);
  return seconds ? `${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` : `${pad(w.hour)}:${pad(w.minute)}`;
}

export function addDays(date, days) {
  const [y, m, d] = date.split("-").map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

// The API already answers in the camera's offset: read the wall clock straight from the string.
export function wallOf(iso) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso || "");
  return m ? { date: m[1], time: m[2] } : { date: "", time: iso || "" };
}

export function shortDate(date) {
  const [y, m, d] = date.split("-").map(Number);
  if (!y) return date;
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    timeZone: "UTC",
  });
}

export function duration(seconds) {
  if (seconds == null || Number.isNaN(Number(seconds))) return "";
  const s = Math.round(Number(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}
