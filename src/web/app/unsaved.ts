import { useEffect, useRef } from "react";
import { addLeaveGuard } from "./router";

/**
 * While `pending`, leaving the page asks first: a link or Back inside the app (the router's leave
 * guard: a confirm with `message`) and closing or reloading the tab (the browser's own
 * beforeunload question, whose text browsers do not let a page choose).
 */
export function useUnsavedChanges(pending: boolean, message: string): void {
  const text = useRef(message);
  text.current = message;
  useEffect(() => {
    if (!pending) return;
    const beforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      // Older browsers ask only when returnValue is set.
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", beforeUnload);
    const remove = addLeaveGuard(() => text.current);
    return () => {
      window.removeEventListener("beforeunload", beforeUnload);
      remove();
    };
  }, [pending]);
}
