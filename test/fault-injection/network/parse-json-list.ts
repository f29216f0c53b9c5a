/** The list `ip -j` prints (nothing at all when there is nothing to list). */
export function parseJsonList<T>(text: string): T[] {
  return text.trim() ? (JSON.parse(text) as T[]) : [];
}
