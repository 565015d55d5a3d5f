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
