import { useEffect, useState } from 'react';

/** The current time, renewed every minute, so a day passing shows in the text ("yesterday", a date). */
export function useNow(): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 60_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}
