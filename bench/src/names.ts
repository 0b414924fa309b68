// Name lists for the seeded organization, written for this benchmark. They mix
// origins on purpose (and a few diacritics and hyphens), so that searches meet
// the variety of a real directory. Earlier names are drawn more often than later
// ones (see seed.ts), so some surnames are common and others rare, as in life.

const words = (text: string) => text.trim().split(/\s+/);

export const firstNames = words(`
  James Mary Michael Patricia Robert Jennifer John Linda David Elizabeth William Barbara Richard Susan
  Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty Anthony Sandra
  Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol
  Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura
  Jeffrey Cynthia Ryan Dorothy Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma
  Stephen Brenda Larry Pamela Justin Nicole Scott Anna Brandon Samantha Benjamin Katherine Samuel
  Christine Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia
  Dennis Heather Jerry Helen Tyler Catherine Aaron Diane Jose Julie Adam Victoria Nathan Joyce Henry
  Lauren Zachary Kelly Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith Jeremy
  Evelyn Christian Hannah Walter Andrea Keith Megan Austin Cheryl Roger Jacqueline Terry Madison
  Sean Teresa Gerald Abigail Carl Sophia Dylan Martha Harold Sara Jordan Gloria Jesse Janice Bryan
  Kathryn Lawrence Ann Arthur Isabella Gabriel Judy Bruce Charlotte Logan Julia Billy Grace Joe Amber
  Alan Alice Juan Jean Elijah Denise Willie Frances Albert Danielle Wayne Marilyn Randy Natalie
  Mason Beverly Vincent Diana Liam Brittany Roy Theresa Bobby Kayla Caleb Alexis Bradley Doris
  Russell Lori Lucas Tiffany José María Jürgen Søren Zoë Chloé Renée Björn Ñico Siobhán Aoife
  Oisín Mateo Santiago Valentina Camila Lucía Sofía Diego Alejandro Javier Ximena Hiroshi Yuki
  Haruto Sakura Ren Aiko Kenji Mei Wei Jing Li Hao Xiu Min-jun Seo-yeon Ji-woo Hye-jin Arjun Priya
  Aarav Ananya Rohan Kavya Vikram Deepika Ishaan Meera Rahul Aditi Omar Fatima Yusuf Aisha Karim
  Layla Hassan Zainab Tariq Amira Kwame Ama Kofi Abena Chidi Ngozi Tunde Folake Themba Thandiwe
  Oluwaseun Ifeoma Dmitri Anastasia Ivan Olga Sergei Natalia Mikhail Katarzyna Piotr Agnieszka
  Tomasz Zofia Lukas Hanna Matthias Greta Felix Ingrid Lars Astrid Nils Freya Emil Elin Mikko Aino
  Giulia Luca Francesca Matteo Chiara Lorenzo Giorgos Eleni Nikos Dimitra Mehmet Elif Emre Zeynep
  Ahmet Ayşe Noa Yael Eitan Tamar Kai Leilani Nalani Makoa Tane Aroha Wiremu Ngaio Inés Joaquín
`);

export const lastNames = words(`
  Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
  Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
  Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
  Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker
  Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
  Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James
  Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
  Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher
  Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno
  West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall
  Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb
  Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
  Dixon Muñoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren
  Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
  Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight
  Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry
  Perkins Hoffman Johnston Matthews Peña Richards Contreras Willis Carpenter Lawrence Sandoval
  Müller Schneider Fischer Weber Schulz Becker Wagner Hoffmann Schäfer Koch Bauer Richter Klein Wolf
  Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Werner Krause Lehmann
  Köhler Maier Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Vogel Friedrich Keller
  Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm
  Dubois Moreau Laurent Lefebvre Michel Leroy Roux Fournier Girard Bonnet Dupont Lambert Fontaine
  Rousseau Vincent Muller Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François
  Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti DeLuca
  Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi Caruso
  Ferrara Galli Martini Leone Longo Gentile Martinelli Vitale Lombardo Serra Coppola DeSantis
  Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak
  Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski Pawłowski Michalski
  Ivanov Smirnov Kuznetsov Popov Vasiliev Petrov Sokolov Mikhailov Novikov Fedorov Morozov Volkov
  Alekseev Lebedev Semenov Egorov Pavlov Kozlov Stepanov Nikolaev Orlov Andreev Makarov Nikitin
  Zakharov Zaitsev Solovyov Borisov Yakovlev Grigoryev Romanov Vorobyov Sergeev Kuzmin Frolov
  Wang Li Zhang Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Gao Lin Luo Zheng Liang Xie Song
  Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Yuan Pan Cai Jiang Yu Du Ye Cheng Wei Su Lü Ding
  Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada Sasaki
  Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu Yamazaki Mori Abe Ikeda Hashimoto Ishikawa
  Park Choi Jung Kang Cho Yoon Jang Lim Han Oh Seo Shin Kwon Hwang Ahn Song Yoo Hong Jeon Ko Moon
  Sharma Singh Kumar Gupta Shah Mehta Joshi Reddy Rao Iyer Nair Menon Pillai Chopra Malhotra Kapoor
  Banerjee Chatterjee Mukherjee Das Bose Sen Ghosh Desai Kulkarni Patil Jain Agarwal Bhatt Chaudhary
  Khan Ahmed Ali Hussain Rahman Malik Qureshi Siddiqui Sheikh Haddad Nasser Khalil Saleh Mansour
  Haddadi Farouk Abbas Hamdan Darwish Aziz Karimi Hosseini Mohammadi Rezaei Moradi Jafari Tehrani
  Okafor Okonkwo Adeyemi Adebayo Olawale Eze Nwosu Obi Mensah Asante Boateng Owusu Osei Appiah
  Kamau Mwangi Otieno Njoroge Wanjiru Ndlovu Dlamini Nkosi Khumalo Mokoena Botha Naidoo VanWyk
  Kovač Horvat Novak Babić Marić Jurić Kovačević Petrović Jovanović Nikolić Popescu Ionescu Popa
  Nagy Kovács Tóth Szabó Horváth Varga Kiss Molnár Németh Farkas Balogh Papadopoulos Georgiou
  Nikolaidis Dimitriou Konstantinou Yilmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın
  Özdemir Arslan Doğan Kılıç Aslan Çetin Korkmaz Johansson Andersson Karlsson Nilsson Eriksson
  Larsson Olsson Persson Svensson Gustafsson Pettersson Jonsson Jensen Nielsen Hansen Pedersen
  Andersen Christensen Larsen Sørensen Rasmussen Jørgensen Korhonen Virtanen Mäkinen Nieminen
  Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen O'Brien O'Connor O'Sullivan Byrne Walsh
  McCarthy Gallagher Doherty Kennedy Lynch Quinn Brennan Fitzgerald Donnelly MacLeod Campbell
  Fraser Sinclair Lindqvist Haugen Hagen Berg Dahl Lund Strand Bakke Solberg Vik Aalto Ng Tan Lim
  Goh Chua Ong Teo Yeo Wong Leung Chan Cheung Lau Ho Kwok Chow Nakagawa Fujimoto Okamoto Kuroda
  Alves Pereira Rodrigues Ferreira Oliveira Carvalho Gomes Martins Ribeiro Sousa Lopes Barbosa
  Rocha Almeida Teixeira Moreira Cardoso Correia Nunes Mendes Pinto Azevedo Coelho Figueiredo
  Whitfield Ashworth Pemberton Fairbanks Thornbury Blackwood Kingsley Harrington Montgomery
  Lockhart Wexford Quennell Abernathy Castellanos Villanueva Arriaga Echeverría Zubizarreta
  Quintanilla Bustamante Valderrama Achterberg Vanderbilt Oyelaran Tshabalala Okonjo Rautenbach
  Wojciechowski Brzęczyszczykiewicz Szczepański Przybylski Ferreira-Lopes Smith-Jones
  Garcia-Marquez Llewellyn Pryce Rhys Vaughan Bevan Prosser Quayle Kerrigan Dunleavy Featherstone
  Hargreaves Illingworth Ormerod Pickersgill Sowerby Tetley Umpleby Wadsworth Yarborough Zouche
`);

// Account names: an organization's customers, departments and partners.
export const accountAdjectives = words(`
  Northwind Blue Harbor Granite Silver Maple Cedar Summit Riverbend Lakeside Pioneer Evergreen
  Redwood Ironclad Golden Crescent Meridian Horizon Beacon Atlas Orion Polaris Juniper Willow Aspen
  Falcon Sterling Keystone Liberty Heritage Coastal Prairie Highland Copper Cobalt Emerald Sapphire
  Vantage Pinnacle Frontier Harbor Bright Clearwater Stonebridge Oakridge Westfield Eastgate Northgate
  Southport Bayview Hillcrest Fairview Greenfield Brookside Sunrise Twin Union Central United Apex
`);

export const accountNouns = words(`
  Logistics Health Analytics Foods Energy Robotics Systems Labs Studios Partners Capital Insurance
  Pharma Motors Airlines Shipping Textiles Foundry Media Publishing Education Hospitality Realty
  Construction Engineering Consulting Security Telecom Software Hardware Semiconductors Biotech
  Retail Markets Bank Credit Union Clinic Hospital Dental Legal Accounting Marketing Design Games
  Outfitters Brewing Vineyards Farms Fisheries Mining Metals Chemicals Plastics Paper Glass Solar
`);

export const accountSuffixes = words(`
  Inc Ltd Group Co GmbH SA AG BV Holdings Europe Americas Asia Nordics Iberia Benelux Canada Australia
`);

// Users whose address is not at their account's domain.
export const freeMailDomains = words(`
  gmail.com outlook.com yahoo.com icloud.com proton.me fastmail.com hotmail.com aol.com gmx.de mail.com
`);
