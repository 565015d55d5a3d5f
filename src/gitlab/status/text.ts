const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** GitLab's limit on description, target_url and ref. */
export const gitlabFieldLimit = 255;

/**
 * Cuts text to at most `limit` characters (as GitLab counts them: code points) without splitting a
 * character or a grapheme cluster (an emoji with its modifiers, a letter with its accents); an ellipsis
 * marks the cut.
 */
export function cutText(text: string, limit = gitlabFieldLimit): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  if ([...oneLine].length <= limit) return oneLine;
  let out = "";
  let length = 0;
  for (const { segment } of segmenter.segment(oneLine)) {
    const size = [...segment].length;
    if (length + size > limit - 1) break;
    out += segment;
    length += size;
  }
  return `${out.trimEnd()}…`;
}

/**
 * A link GitLab takes (at most 255 characters): as it is when it fits; else without its query and
 * fragment; else its parent pages, one path segment less at a time (a console's page for the namespace's
 * runs instead of the run's), never a cut URL that leads nowhere. "" when not even the origin fits.
 */
export function fitLink(url: string, limit = gitlabFieldLimit): string {
  if ([...url].length <= limit) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "";
  }
  let candidate = `${parsed.origin}${parsed.pathname}`;
  while ([...candidate].length > limit) {
    const parent = candidate.replace(/\/+[^/]*\/*$/, "");
    if (parent === candidate || parent.length <= parsed.origin.length)
      return [...parsed.origin].length <= limit ? `${parsed.origin}/` : "";
    candidate = parent;
  }
  return candidate;
}

/** Fills {{ name }} and {name} placeholders (PaC writes the first form) from `values`. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(
    /\{\{\s*([\w-]+)\s*\}\}|\{([\w-]+)\}/g,
    (match, a: string | undefined, b: string | undefined) => {
      const key = a ?? b ?? "";
      return key in values ? encodeURIComponent(values[key] ?? "") : match;
    },
  );
}
