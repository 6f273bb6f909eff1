export default function Home() {
  return <main>CCPLATE</main>;
}
